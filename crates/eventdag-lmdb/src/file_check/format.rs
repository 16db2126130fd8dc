//! LMDB's on-disk layout (`mdb.c` of LMDB 0.9, 64-bit builds, native
//! byte order), just the parts the file check reads: meta pages, page
//! headers, nodes. Every accessor is bounds-checked and answers `None`
//! for bytes that cannot be what they claim: nothing here trusts the file.

/// Bytes of a page header (`PAGEHDRSZ`): pgno u64, pad u16, flags u16,
/// lower u16 + upper u16 (or the u32 count of an overflow run).
pub(super) const PAGE_HEADER: usize = 16;
/// Bytes of a node header (`NODESIZE`): lo u16, hi u16, flags u16, ksize
/// u16; the key and the data follow.
const NODE_HEADER: usize = 8;
/// Bytes of a database record (`MDB_db`) in a meta page or a
/// sub-database node.
const DB_RECORD: usize = 48;

/// `P_BRANCH`.
const P_BRANCH: u16 = 0x01;
/// `P_LEAF`.
const P_LEAF: u16 = 0x02;
/// `P_OVERFLOW`.
const P_OVERFLOW: u16 = 0x04;
/// `P_META`.
const P_META: u16 = 0x08;
/// `P_LEAF2` (keys of one size, packed; duplicate-sorted tables only).
const P_LEAF2: u16 = 0x20;
/// Flags a page may carry on disk besides its kind: `P_DIRTY`, `P_KEEP`
/// and `P_LOOSE` are in-memory states, harmless if left set.
const P_TRANSIENT: u16 = 0x10 | 0x4000 | 0x8000;

/// `F_BIGDATA`: the value is on overflow pages.
pub(super) const F_BIGDATA: u16 = 0x01;
/// `F_SUBDATA`: the value is a database record (a named table).
pub(super) const F_SUBDATA: u16 = 0x02;
/// `F_DUPDATA`: the value holds duplicates.
pub(super) const F_DUPDATA: u16 = 0x04;

/// `MDB_MAGIC`.
const MAGIC: u32 = 0xBEEF_C0DE;
/// `MDB_DATA_VERSION` of LMDB 0.9.
const DATA_VERSION: u32 = 1;
/// `P_INVALID`: the root of an empty table.
pub(super) const NO_PAGE: u64 = u64::MAX;
/// Bytes of the meta part read from each meta page (header + `MDB_meta`).
pub(super) const META_BYTES: usize = 152;

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

pub(super) fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_ne_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

/// A table's record (`MDB_db`): where its tree starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct DbRecord {
    /// `md_root`: [`NO_PAGE`] for an empty table.
    pub(super) root: u64,
}

impl DbRecord {
    pub(super) fn parse(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != DB_RECORD {
            return None;
        }
        Some(Self {
            root: u64_at(bytes, 40)?,
        })
    }
}

/// One meta page's `MDB_meta`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Meta {
    /// The page size (`mm_psize`).
    pub(super) page_size: u64,
    /// The free-page table (`mm_dbs[FREE_DBI]`).
    pub(super) free: DbRecord,
    /// The main table, holding the named tables (`mm_dbs[MAIN_DBI]`).
    pub(super) main: DbRecord,
    /// The last page in use (`mm_last_pg`).
    pub(super) last_page: u64,
    /// The transaction that wrote it (`mm_txnid`).
    pub(super) txnid: u64,
}

/// Why bytes are not a meta page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum NotMeta {
    /// Not LMDB's meta page at all (no meta flag, magic or version): the
    /// file is not an LMDB file of this version. LMDB refuses it itself.
    Foreign,
    /// LMDB's, with a field no LMDB writes.
    Impossible(String),
}

impl Meta {
    /// Parses the first [`META_BYTES`] of a meta page.
    pub(super) fn parse(bytes: &[u8]) -> Result<Self, NotMeta> {
        let flags = u16_at(bytes, 10).ok_or(NotMeta::Foreign)?;
        let magic = u32_at(bytes, 16).ok_or(NotMeta::Foreign)?;
        let version = u32_at(bytes, 20).ok_or(NotMeta::Foreign)?;
        if flags & P_META == 0 || magic != MAGIC || version != DATA_VERSION {
            return Err(NotMeta::Foreign);
        }
        let field = |at| u64_at(bytes, at).ok_or(NotMeta::Foreign);
        let free = DbRecord::parse(bytes.get(40..88).ok_or(NotMeta::Foreign)?);
        let main = DbRecord::parse(bytes.get(88..136).ok_or(NotMeta::Foreign)?);
        let (Some(free), Some(main)) = (free, main) else {
            return Err(NotMeta::Foreign);
        };
        let page_size = u64::from(u32_at(bytes, 40).ok_or(NotMeta::Foreign)?);
        if !(256..=65_536).contains(&page_size) || !page_size.is_power_of_two() {
            return Err(NotMeta::Impossible(format!(
                "a page size of {page_size} bytes"
            )));
        }
        let last_page = field(136)?;
        if last_page < 1 {
            return Err(NotMeta::Impossible(format!("last page {last_page}")));
        }
        Ok(Self {
            page_size,
            free,
            main,
            last_page,
            txnid: field(144)?,
        })
    }

    /// Bytes the file must hold for every page in use.
    pub(super) fn promised_len(&self) -> u64 {
        self.last_page
            .saturating_add(1)
            .saturating_mul(self.page_size)
    }
}

/// What a tree page is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// Nodes pointing to child pages.
    Branch,
    /// Nodes holding keys and values.
    Leaf,
    /// Keys of one size, packed (duplicate-sorted tables).
    Leaf2,
}

/// A tree page, checked to be self-consistent.
#[derive(Debug)]
pub(super) struct TreePage<'a> {
    bytes: &'a [u8],
    pub(super) kind: Kind,
    keys: usize,
    upper: usize,
}

/// A node of a tree page, located inside it.
struct Node<'a> {
    /// Its offset in the page.
    at: usize,
    /// `F_*` flags (leaves) or the top word of the child (branches).
    flags: u16,
    /// The key.
    key: &'a [u8],
    /// The page's bytes after the key.
    rest: &'a [u8],
}

/// A leaf node's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Value<'a> {
    /// The bytes, in the page.
    Inline(&'a [u8]),
    /// `size` bytes on the overflow run starting at `page`.
    Overflow { page: u64, size: u64 },
}

/// A leaf node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Leaf<'a> {
    /// `F_*` flags.
    pub(super) flags: u16,
    /// The key.
    pub(super) key: &'a [u8],
    /// The value.
    pub(super) value: Value<'a>,
}

impl<'a> TreePage<'a> {
    /// Checks the header of page `pgno` (its bytes, one page) and where
    /// its nodes lie.
    pub(super) fn parse(pgno: u64, bytes: &'a [u8]) -> Result<Self, String> {
        let size = bytes.len();
        let header =
            |at| u16_at(bytes, at).ok_or_else(|| "a page shorter than its header".to_string());
        let stamped = u64_at(bytes, 0).ok_or("a page shorter than its header")?;
        if stamped != pgno {
            return Err(format!("page {pgno} says it is page {stamped}"));
        }
        let flags = header(10)? & !P_TRANSIENT;
        let kind = match flags {
            P_BRANCH => Kind::Branch,
            P_LEAF => Kind::Leaf,
            f if f == P_LEAF | P_LEAF2 => Kind::Leaf2,
            other => {
                return Err(format!(
                    "page {pgno} has flags {other:#06x}, not those of a tree page"
                ))
            }
        };
        let (lower, upper) = (usize::from(header(12)?), usize::from(header(14)?));
        if lower < PAGE_HEADER || lower > upper || upper > size || (lower - PAGE_HEADER) % 2 != 0 {
            return Err(format!(
                "page {pgno} has its free space at {lower}..{upper} of {size} bytes"
            ));
        }
        let page = Self {
            bytes,
            kind,
            keys: (lower - PAGE_HEADER) / 2,
            upper,
        };
        if kind == Kind::Leaf2 {
            let width = usize::from(header(8)?);
            if page.keys.saturating_mul(width) > size - PAGE_HEADER {
                return Err(format!(
                    "page {pgno} packs {} keys of {width} bytes",
                    page.keys
                ));
            }
        }
        Ok(page)
    }

    /// How many keys (nodes) the page holds.
    pub(super) fn keys(&self) -> usize {
        self.keys
    }

    /// Node `index`: its offset, flags, key and the bytes after the key,
    /// all inside the page.
    fn node(&self, index: usize) -> Result<Node<'a>, String> {
        let at = usize::from(u16_at(self.bytes, PAGE_HEADER + 2 * index).ok_or("no node pointer")?);
        let size = self.bytes.len();
        if at < self.upper || at + NODE_HEADER > size {
            return Err(format!(
                "node {index} lies at {at}, outside the page's nodes ({}..{size})",
                self.upper
            ));
        }
        let flags = u16_at(self.bytes, at + 4).ok_or("no node flags")?;
        let key_size = usize::from(u16_at(self.bytes, at + 6).ok_or("no key size")?);
        let past_end = || format!("node {index} has a key of {key_size} bytes past the page's end");
        let key = self
            .bytes
            .get(at + NODE_HEADER..at + NODE_HEADER + key_size)
            .ok_or_else(past_end)?;
        let rest = self
            .bytes
            .get(at + NODE_HEADER + key_size..)
            .ok_or_else(past_end)?;
        Ok(Node {
            at,
            flags,
            key,
            rest,
        })
    }

    /// The child page of branch node `index`.
    pub(super) fn child(&self, index: usize) -> Result<u64, String> {
        let Node { at, .. } = self.node(index)?;
        let part = |offset| u16_at(self.bytes, at + offset).map(u64::from);
        let (lo, hi, top) = node_words(part).ok_or("no child page number")?;
        Ok(lo | hi << 16 | top << 32)
    }

    /// Leaf node `index`.
    pub(super) fn leaf(&self, index: usize) -> Result<Leaf<'a>, String> {
        let Node {
            at,
            flags,
            key,
            rest,
        } = self.node(index)?;
        let part = |offset| u16_at(self.bytes, at + offset).map(u64::from);
        let (lo, hi, _) = node_words(part).ok_or("no value size")?;
        let size = lo | hi << 16;
        let value = if flags & F_BIGDATA != 0 {
            let page = u64_at(rest, 0)
                .ok_or_else(|| format!("node {index} has no overflow page number"))?;
            Value::Overflow { page, size }
        } else {
            let size = usize::try_from(size).map_err(|_| "a value size beyond memory")?;
            Value::Inline(rest.get(..size).ok_or_else(|| {
                format!("node {index} has a value of {size} bytes past the page's end")
            })?)
        };
        Ok(Leaf { flags, key, value })
    }
}

/// The low, high and top words of a node's size or page number, in the
/// node's layout for this byte order.
fn node_words(part: impl Fn(usize) -> Option<u64>) -> Option<(u64, u64, u64)> {
    let (lo, hi) = if cfg!(target_endian = "little") {
        (part(0)?, part(2)?)
    } else {
        (part(2)?, part(0)?)
    };
    Some((lo, hi, part(4)?))
}

/// Checks the header of overflow page `pgno`; answers how many pages the
/// run spans.
pub(super) fn overflow_run(pgno: u64, bytes: &[u8]) -> Result<u64, String> {
    let stamped = u64_at(bytes, 0).ok_or("a page shorter than its header")?;
    if stamped != pgno {
        return Err(format!("overflow page {pgno} says it is page {stamped}"));
    }
    let flags = u16_at(bytes, 10).ok_or("no page flags")? & !P_TRANSIENT;
    if flags != P_OVERFLOW {
        return Err(format!(
            "page {pgno} has flags {flags:#06x}, not those of an overflow page"
        ));
    }
    let pages = u32_at(bytes, 12).ok_or("no overflow length")?;
    if pages == 0 {
        return Err(format!("overflow page {pgno} spans no pages"));
    }
    Ok(u64::from(pages))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn page(pgno: u64, flags: u16, lower: u16, upper: u16) -> Vec<u8> {
        let mut bytes = vec![0u8; 4096];
        bytes[0..8].copy_from_slice(&pgno.to_ne_bytes());
        bytes[10..12].copy_from_slice(&flags.to_ne_bytes());
        bytes[12..14].copy_from_slice(&lower.to_ne_bytes());
        bytes[14..16].copy_from_slice(&upper.to_ne_bytes());
        bytes
    }

    #[test]
    fn a_tree_page_must_be_the_page_it_says_with_sane_bounds() {
        assert!(TreePage::parse(7, &page(7, P_LEAF, 16, 4096)).is_ok());
        assert!(TreePage::parse(7, &page(8, P_LEAF, 16, 4096))
            .unwrap_err()
            .contains("says it is page 8"));
        assert!(TreePage::parse(7, &page(7, P_META, 16, 4096)).is_err());
        assert!(TreePage::parse(7, &page(7, P_LEAF, 4000, 100)).is_err());
        assert!(TreePage::parse(7, &page(7, P_BRANCH, 17, 4096)).is_err());
    }

    #[test]
    fn nodes_outside_their_page_are_refused() {
        let mut bytes = page(3, P_LEAF, 18, 4000);
        bytes[16..18].copy_from_slice(&4000u16.to_ne_bytes());
        // lo = 200 bytes of value, key of 8 bytes: 4000 + 8 + 8 + 200 > 4096.
        bytes[4000..4002].copy_from_slice(&200u16.to_ne_bytes());
        bytes[4006..4008].copy_from_slice(&8u16.to_ne_bytes());
        let leaf = TreePage::parse(3, &bytes).unwrap();
        assert_eq!(leaf.keys(), 1);
        assert!(leaf.leaf(0).unwrap_err().contains("past the page's end"));
        bytes[4000..4002].copy_from_slice(&10u16.to_ne_bytes());
        let leaf = TreePage::parse(3, &bytes).unwrap();
        assert!(matches!(leaf.leaf(0).unwrap().value, Value::Inline(v) if v.len() == 10));
    }

    #[test]
    fn a_meta_page_is_recognised_and_its_impossible_fields_named() {
        let mut bytes = vec![0u8; META_BYTES];
        bytes[10..12].copy_from_slice(&P_META.to_ne_bytes());
        assert_eq!(Meta::parse(&bytes), Err(NotMeta::Foreign));
        bytes[16..20].copy_from_slice(&MAGIC.to_ne_bytes());
        bytes[20..24].copy_from_slice(&DATA_VERSION.to_ne_bytes());
        bytes[40..44].copy_from_slice(&4096u32.to_ne_bytes());
        bytes[136..144].copy_from_slice(&9u64.to_ne_bytes());
        bytes[144..152].copy_from_slice(&5u64.to_ne_bytes());
        let meta = Meta::parse(&bytes).unwrap();
        assert_eq!((meta.page_size, meta.last_page, meta.txnid), (4096, 9, 5));
        assert_eq!(meta.promised_len(), 40_960);
        bytes[40..44].copy_from_slice(&1000u32.to_ne_bytes());
        assert!(matches!(Meta::parse(&bytes), Err(NotMeta::Impossible(_))));
    }
}
