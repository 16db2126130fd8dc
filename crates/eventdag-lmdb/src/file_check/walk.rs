//! Walking the trees of one snapshot of a data file with `pread`, never
//! through a memory map: every page a reader may reach is read and checked
//! before LMDB is let near it.

use std::collections::HashSet;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::format::{
    overflow_run, u64_at, DbRecord, Kind, Leaf, Meta, NotMeta, TreePage, Value, F_BIGDATA,
    F_DUPDATA, F_SUBDATA, META_BYTES, NO_PAGE, PAGE_HEADER,
};
use super::Damage;

/// LMDB's cursor stack (`CURSOR_STACK`): no tree it writes is deeper.
const MAX_DEPTH: usize = 32;

/// The data file, read with `pread`.
pub(super) struct DataFile {
    file: File,
}

/// What the file's meta pages say, and how long the file was right after
/// they were read.
#[derive(Debug, Clone, Copy)]
pub(super) struct Snapshot {
    pub(super) meta: Meta,
    pub(super) len: u64,
}

impl DataFile {
    pub(super) fn open(path: &Path) -> std::io::Result<Self> {
        Ok(Self {
            file: File::open(path)?,
        })
    }

    fn read(&self, offset: u64, len: usize) -> Result<Vec<u8>, Damage> {
        let mut bytes = vec![0; len];
        self.file
            .read_exact_at(&mut bytes, offset)
            .map_err(|error| {
                Damage::new(
                    format!("{len} readable bytes at offset {offset}"),
                    error.to_string(),
                )
            })?;
        Ok(bytes)
    }

    fn len(&self) -> Result<u64, Damage> {
        self.file
            .metadata()
            .map(|metadata| metadata.len())
            .map_err(|error| Damage::new("a file whose length can be read", error.to_string()))
    }

    /// The newer of the two meta pages, as LMDB picks it (the higher
    /// transaction id, page 0 on a tie), and the file's length read after
    /// them: a writer extends the file before it writes a meta page, so
    /// the length covers what the meta promises unless the file is short.
    /// `None` when page 0 is not LMDB's at all (LMDB refuses such a file
    /// by itself, as not an LMDB file).
    pub(super) fn snapshot(&self) -> Result<Option<Snapshot>, Damage> {
        let len = self.len()?;
        if len == 0 {
            // LMDB would start a new store in it, hiding the loss of a
            // truncated one; only a store that crashed during its very
            // first open leaves one legitimately.
            return Err(Damage::new(
                "two meta pages at the start of the file",
                "an empty file (if this store was never written to, delete it)",
            ));
        }
        if len < META_BYTES as u64 {
            return Err(Damage::new(
                "two meta pages at the start of the file",
                format!("a file of {len} bytes"),
            ));
        }
        let first = match Meta::parse(&self.read(0, META_BYTES)?) {
            Ok(meta) => meta,
            Err(NotMeta::Foreign) => return Ok(None),
            Err(NotMeta::Impossible(what)) => {
                return Err(Damage::new("a meta page on page 0", what))
            }
        };
        if len < 2 * first.page_size {
            return Err(Damage::new(
                format!("two meta pages of {} bytes", first.page_size),
                format!("a file of {len} bytes"),
            ));
        }
        let second = match Meta::parse(&self.read(first.page_size, META_BYTES)?) {
            Ok(meta) if meta.page_size == first.page_size => meta,
            Ok(meta) => {
                return Err(Damage::new(
                    format!(
                        "page 1 to be a meta page of {} bytes, as page 0",
                        first.page_size
                    ),
                    format!("pages of {} bytes", meta.page_size),
                ))
            }
            Err(NotMeta::Foreign) => {
                return Err(Damage::new("a meta page on page 1", "something else"))
            }
            Err(NotMeta::Impossible(what)) => {
                return Err(Damage::new("a meta page on page 1", what))
            }
        };
        let meta = if second.txnid > first.txnid {
            second
        } else {
            first
        };
        Ok(Some(Snapshot {
            meta,
            len: self.len()?,
        }))
    }

    /// The meta page written by transaction `txnid`, if a meta page still
    /// holds it.
    pub(super) fn snapshot_of(&self, txnid: u64) -> Result<Option<Snapshot>, Damage> {
        let Some(latest) = self.snapshot()? else {
            return Ok(None);
        };
        for page in 0..2 {
            let bytes = self.read(page * latest.meta.page_size, META_BYTES)?;
            if let Ok(meta) = Meta::parse(&bytes) {
                if meta.txnid == txnid {
                    return Ok(Some(Snapshot { meta, ..latest }));
                }
            }
        }
        Ok(None)
    }
}

/// How much of the snapshot to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Depth {
    /// What opening touches: the length, the main table whole (it names
    /// the tables), and the root page of every table. A few pages.
    Opening,
    /// Every page reachable from every root.
    Every,
}

/// One walk over one snapshot.
pub(super) struct Walker<'f> {
    file: &'f DataFile,
    meta: Meta,
    /// Pages the file holds (whole pages).
    pages: u64,
    /// Pages reached so far, one bit each (pages inside the file only).
    reached: Vec<u64>,
    /// Free pages past the end of the file, found in the free table.
    free_past_end: HashSet<u64>,
}

impl<'f> Walker<'f> {
    pub(super) fn new(file: &'f DataFile, snapshot: Snapshot) -> Self {
        let pages = snapshot.len / snapshot.meta.page_size;
        let words = usize::try_from(pages.div_ceil(64)).unwrap_or(usize::MAX);
        Self {
            file,
            meta: snapshot.meta,
            pages,
            reached: vec![0; words],
            free_past_end: HashSet::new(),
        }
    }

    /// Runs the check.
    pub(super) fn check(mut self, depth: Depth) -> Result<(), Damage> {
        let short = self.pages <= self.meta.last_page;
        let every = depth == Depth::Every;
        // The free table is walked whole when the file is short: LMDB
        // leaves pages unwritten at the end of the file when a
        // transaction freed them again before its commit ("loose" pages),
        // so a shorter file is sound as long as every missing page is free.
        let free_whole = every || short;
        self.tree(
            "the free-page table",
            self.meta.free,
            free_whole,
            Table::Free,
        )?;
        if short {
            let missing = self.meta.last_page + 1 - self.pages;
            let free = self.free_past_end.len() as u64;
            if free < missing {
                return Err(Damage::new(
                    format!(
                        "{} bytes ({} pages of {} bytes), or free pages past the end",
                        self.meta.promised_len(),
                        self.meta.last_page + 1,
                        self.meta.page_size
                    ),
                    format!(
                        "{} bytes: {} of the {missing} missing pages are in use (the file was truncated)",
                        self.pages * self.meta.page_size,
                        missing - free
                    ),
                ));
            }
        }
        self.tree(
            "the main table",
            self.meta.main,
            true,
            Table::Main { every },
        )
    }

    fn page(&self, pgno: u64, role: &str) -> Result<Vec<u8>, Damage> {
        if pgno > self.meta.last_page || pgno < 2 {
            return Err(Damage::new(
                format!("{role} on a data page (2 to {})", self.meta.last_page),
                format!("page number {pgno}"),
            ));
        }
        if pgno >= self.pages {
            return Err(Damage::new(
                format!("page {pgno} ({role}) inside the file"),
                format!(
                    "a file of {} pages of {} bytes: it was truncated",
                    self.pages, self.meta.page_size
                ),
            ));
        }
        let size = usize::try_from(self.meta.page_size).unwrap_or(usize::MAX);
        self.file.read(pgno * self.meta.page_size, size)
    }

    /// Marks `count` pages from `first` reached; a page reached twice
    /// belongs to two places, which LMDB never writes.
    fn reach(&mut self, first: u64, count: u64, role: &str) -> Result<(), Damage> {
        for pgno in first..first.saturating_add(count) {
            let (word, bit) = (usize::try_from(pgno / 64).unwrap_or(usize::MAX), pgno % 64);
            let Some(slot) = self.reached.get_mut(word) else {
                return Err(Damage::new(
                    format!("page {pgno} ({role}) inside the file"),
                    "past its end",
                ));
            };
            if *slot & (1 << bit) != 0 {
                return Err(Damage::new(
                    format!("page {pgno} ({role}) to be used once"),
                    "it is reached from two places",
                ));
            }
            *slot |= 1 << bit;
        }
        Ok(())
    }

    /// Checks the tree of `record`: its root page only, or (`whole`) every
    /// page of it.
    fn tree(
        &mut self,
        name: &str,
        record: DbRecord,
        whole: bool,
        table: Table,
    ) -> Result<(), Damage> {
        if record.root == NO_PAGE {
            return Ok(());
        }
        let mut stack = vec![(record.root, 1usize)];
        while let Some((pgno, level)) = stack.pop() {
            let role = if level == 1 {
                format!("the root of {name}")
            } else {
                format!("a page of {name}")
            };
            if level > MAX_DEPTH {
                return Err(Damage::new(
                    format!("{name} at most {MAX_DEPTH} levels deep"),
                    format!("page {pgno} at level {level}"),
                ));
            }
            let bytes = self.page(pgno, &role)?;
            let page = TreePage::parse(pgno, &bytes).map_err(|found| {
                Damage::new(
                    format!("page {pgno} ({role}) to be an intact tree page"),
                    found,
                )
            })?;
            self.reach(pgno, 1, &role)?;
            if !whole {
                continue;
            }
            let node_damage = |found: String| {
                Damage::new(
                    format!("the nodes of page {pgno} ({role}) to lie in it"),
                    found,
                )
            };
            match page.kind {
                Kind::Branch => {
                    // LMDB asserts branch pages of every table but the
                    // free one hold two keys at least; none may hold none.
                    let least = if table == Table::Free { 1 } else { 2 };
                    if page.keys() < least {
                        return Err(node_damage(format!(
                            "a branch page with {} keys",
                            page.keys()
                        )));
                    }
                    for index in 0..page.keys() {
                        stack.push((page.child(index).map_err(node_damage)?, level + 1));
                    }
                }
                Kind::Leaf => {
                    for index in 0..page.keys() {
                        let leaf = page.leaf(index).map_err(node_damage)?;
                        self.value(name, &role, table, leaf)?;
                    }
                }
                Kind::Leaf2 => {
                    return Err(node_damage(
                        "packed duplicate keys, which no EventDag table holds".into(),
                    ))
                }
            }
        }
        Ok(())
    }

    /// Checks one leaf value: an overflow run inside the file; a named
    /// table (in the main table) whose tree is checked in turn; the free
    /// pages a free-table value lists.
    fn value(
        &mut self,
        name: &str,
        role: &str,
        table: Table,
        leaf: Leaf<'_>,
    ) -> Result<(), Damage> {
        let flags = leaf.flags;
        let bytes = match leaf.value {
            Value::Inline(bytes) => Some(bytes.to_vec()),
            Value::Overflow { page, size } => {
                let run_role = format!("a value of {name}");
                let header = self.page(page, &run_role)?;
                let pages = overflow_run(page, &header).map_err(|found| {
                    Damage::new(
                        format!("page {page} ({run_role}) to be an intact overflow page"),
                        found,
                    )
                })?;
                let end = page.saturating_add(pages);
                if end > self.meta.last_page + 1 || end > self.pages {
                    return Err(Damage::new(
                        format!("the overflow run of {pages} pages at page {page} inside the file"),
                        format!("it ends at page {end}, the file has {} pages", self.pages),
                    ));
                }
                let room = pages * self.meta.page_size - PAGE_HEADER as u64;
                if size > room {
                    return Err(Damage::new(
                        format!(
                            "a value of at most {room} bytes on the overflow run at page {page}"
                        ),
                        format!("{size} bytes"),
                    ));
                }
                self.reach(page, pages, &run_role)?;
                // Only the free table's values are read: their page lists.
                if table == Table::Free {
                    let len = usize::try_from(size).unwrap_or(usize::MAX);
                    Some(
                        self.file
                            .read(page * self.meta.page_size + PAGE_HEADER as u64, len)?,
                    )
                } else {
                    None
                }
            }
        };
        let damage = |found: String| {
            Damage::new(
                format!("the values of {role} to be {}", table.values()),
                found,
            )
        };
        match table {
            Table::Free if flags & !F_BIGDATA != 0 => {
                Err(damage(format!("node flags {flags:#06x}")))
            }
            Table::Free => {
                let list = bytes.unwrap_or_default();
                let count = u64_at(&list, 0)
                    .ok_or_else(|| damage("a page list without its length".into()))?;
                let fits = usize::try_from(count)
                    .ok()
                    .and_then(|c| c.checked_add(1)?.checked_mul(8));
                if fits.is_none_or(|needed| needed > list.len()) {
                    return Err(damage(format!(
                        "a list of {count} pages in {} bytes",
                        list.len()
                    )));
                }
                for index in 0..usize::try_from(count).unwrap_or(0) {
                    let pgno = u64_at(&list, 8 + 8 * index).unwrap_or(NO_PAGE);
                    if pgno >= self.pages && pgno <= self.meta.last_page {
                        self.free_past_end.insert(pgno);
                    }
                }
                Ok(())
            }
            Table::Main { every } if flags == F_SUBDATA => {
                let record = bytes
                    .as_deref()
                    .and_then(DbRecord::parse)
                    .ok_or_else(|| damage("a table record of the wrong size".into()))?;
                let name = format!("table {:?}", String::from_utf8_lossy(leaf.key));
                self.tree(&name, record, every, Table::Named)
            }
            Table::Main { .. } | Table::Named if flags & (F_SUBDATA | F_DUPDATA) != 0 => {
                Err(damage(format!("node flags {flags:#06x}")))
            }
            Table::Main { .. } | Table::Named => Ok(()),
        }
    }
}

/// Which tree a walk is in: what its values are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Table {
    /// The free-page table: lists of page numbers.
    Free,
    /// The main table: the named tables' records (and, in a directory of
    /// someone else's, plain values). `every`: walk the named tables whole.
    Main { every: bool },
    /// A table of EventDag (or of a raw store): plain values.
    Named,
}

impl Table {
    fn values(self) -> &'static str {
        match self {
            Self::Free => "lists of free pages",
            Self::Main { .. } => "table records",
            Self::Named => "plain values",
        }
    }
}
