//! [`HotCache`]: event records in an LMDB [`RawStore`], each stamped with
//! the flags epoch it was filled in, plus an age index for eviction.
//!
//! ```text
//! tiered_meta    "format" → FORMAT, "epoch" → u64 BE, "bytes" → u64 BE,
//!                "position" → u64 BE (the change log read below it)
//! tiered_events  event id → stamp u64 ‖ filled_at µs u64 ‖ check 8 ‖ record
//! tiered_age     filled_at µs u64 ‖ event id → ()
//! ```
//!
//! `record` is `eventdag_lmdb::codec`'s layout; `check` is XXH3-64 over
//! it, so a damaged value reads as a miss. Bodies change only by
//! forgetting (redaction, chain removal, tenant erasure), which removes
//! the entries ([`HotCache::forget`], [`HotCache::wipe`]); an entry's
//! flags (ACKNOWLEDGED, COMPENSATED) are trusted only while its stamp
//! equals the current epoch, which moves on every open and every gap in
//! the change log.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use eventdag::{now_micros, EventFlags, EventId};
use eventdag_lmdb::codec::{RecordView, FLAGS_AT};
use eventdag_lmdb::{LmdbError, LmdbOptions, RawRead, RawStore, RawWrite};

const META: usize = 0;
const EVENTS: usize = 1;
const AGE: usize = 2;
const TABLES: &[&str] = &["tiered_meta", "tiered_events", "tiered_age"];
/// Version 2: XXH3 checks (version 1 used BLAKE3; such a cache is wiped).
const FORMAT: &[u8] = b"eventdag-tiered-cache/2";
const ENTRY_HEADER: usize = 24;
/// Bytes an entry costs besides its value: its key and its age key.
const ENTRY_OVERHEAD: u64 = 16 + 24;
/// Entries evicted per write transaction, so readers never wait long.
const EVICT_BATCH: usize = 512;

/// The epoch and generation seen before a PostgreSQL read, so that the
/// fill of its result can tell whether a flag changed in between.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Capture {
    epoch: u64,
    generation: u64,
    forgotten: u64,
}

/// A cached entry, borrowed from the map.
pub(crate) struct Cached<'a> {
    /// The epoch its flags were valid in (0: never trusted).
    pub(crate) stamp: u64,
    /// The record.
    pub(crate) view: RecordView<'a>,
}

/// A read snapshot of the cache.
pub(crate) struct Snapshot<'r, 's> {
    read: &'r RawRead<'s>,
}

impl Snapshot<'_, '_> {
    /// The entry of `id`, if present and undamaged.
    pub(crate) fn get(&self, id: EventId) -> Option<Cached<'_>> {
        let value = self.read.get(EVENTS, id.as_bytes()).ok()??;
        let (stamp, _, check, record) = split(value)?;
        if check != checksum(record) {
            return None;
        }
        let view = RecordView::parse(record)?;
        (view.header().event_id == id).then_some(Cached { stamp, view })
    }
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

fn split(value: &[u8]) -> Option<(u64, u64, [u8; 8], &[u8])> {
    let stamp = u64_at(value, 0)?;
    let filled_at = u64_at(value, 8)?;
    let check = value.get(16..24)?.try_into().ok()?;
    Some((stamp, filled_at, check, value.get(ENTRY_HEADER..)?))
}

/// XXH3-64 of the record: it guards against damage, not tampering (the
/// event's own BLAKE3 hash is in the record), and every cached read pays
/// for it — BLAKE3 here was a fifth of a hot ancestors walk.
fn checksum(record: &[u8]) -> [u8; 8] {
    xxhash_rust::xxh3::xxh3_64(record).to_be_bytes()
}

fn entry(stamp: u64, filled_at: u64, record: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(ENTRY_HEADER + record.len());
    out.extend_from_slice(&stamp.to_be_bytes());
    out.extend_from_slice(&filled_at.to_be_bytes());
    out.extend_from_slice(&checksum(record));
    out.extend_from_slice(record);
    out
}

fn age_key(filled_at: u64, id: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(24);
    key.extend_from_slice(&filled_at.to_be_bytes());
    key.extend_from_slice(id);
    key
}

fn meta_u64(write: &RawWrite<'_>, key: &[u8]) -> Result<u64, LmdbError> {
    Ok(write
        .get(META, key)?
        .and_then(|v| u64_at(v, 0))
        .unwrap_or(0))
}

/// The LMDB tier.
pub(crate) struct HotCache {
    raw: RawStore,
    epoch: AtomicU64,
    generation: AtomicU64,
    /// Moves (inside a write transaction) whenever entries are forgotten,
    /// so that a fill of records read before cannot bring a removed body
    /// or payload back.
    forgotten: AtomicU64,
    /// The change-log position stored by the previous run, if any.
    stored_position: Option<u64>,
    bytes: AtomicU64,
    disabled: AtomicBool,
}

impl HotCache {
    /// Opens the cache in `path`; a directory of another format, or a data
    /// file with a damaged page, is an error (the caller wipes it). Every open starts a new epoch: flags
    /// cached by an earlier run are not trusted until refilled.
    pub(crate) fn open(path: &Path, options: &LmdbOptions) -> Result<Self, LmdbError> {
        let raw = RawStore::open(path, options, TABLES)?;
        // The cache is bounded by its budget, so reading all of it once is
        // cheap; opening checks only the pages opening touches, and a
        // damaged page met later by a read could crash the process.
        raw.check_pages()?;
        let (epoch, bytes, stored_position) = raw.write(|w| {
            match w.get(META, b"format")? {
                Some(format) if format == FORMAT => {}
                Some(_) => return Err(foreign(path)),
                None if w.first(EVENTS, 1)?.is_empty() => w.put(META, b"format", FORMAT)?,
                None => return Err(foreign(path)),
            }
            let epoch = meta_u64(w, b"epoch")?.saturating_add(1);
            w.put(META, b"epoch", &epoch.to_be_bytes())?;
            let position = w.get(META, b"position")?.and_then(|v| u64_at(v, 0));
            Ok((epoch, meta_u64(w, b"bytes")?, position))
        })?;
        Ok(Self {
            raw,
            epoch: AtomicU64::new(epoch),
            generation: AtomicU64::new(0),
            forgotten: AtomicU64::new(0),
            stored_position,
            bytes: AtomicU64::new(bytes),
            disabled: AtomicBool::new(false),
        })
    }

    /// The current flags epoch.
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// Call before a PostgreSQL read whose result will be filled.
    pub(crate) fn capture(&self) -> Capture {
        Capture {
            epoch: self.epoch(),
            generation: self.generation.load(Ordering::SeqCst),
            forgotten: self.forgotten.load(Ordering::SeqCst),
        }
    }

    /// The change-log position the previous run had read below when it
    /// stopped (`None`: a new cache, or one of a run that never read).
    pub(crate) fn stored_position(&self) -> Option<u64> {
        self.stored_position
    }

    /// Records that every change below `position` has been applied, so
    /// that the next run can go on from there (and learn of what was
    /// forgotten while it was down) instead of distrusting everything.
    pub(crate) fn save_position(&self, position: u64) {
        if self.disabled.load(Ordering::Relaxed) {
            return;
        }
        let result = self.raw.write(|w| {
            w.put(META, b"position", &position.to_be_bytes())?;
            Ok(self.bytes.load(Ordering::Relaxed))
        });
        self.settle("save_position", result);
    }

    /// Removes the entries of `ids` (redacted or removed events): a read
    /// goes to PostgreSQL and fills them again as they are now, if they
    /// still exist. Fills of records read before this cannot store them
    /// again (see `forgotten`).
    pub(crate) fn forget(&self, ids: &[EventId]) {
        // A disabled cache serves nothing; its stored position stops
        // moving, so the next open replays what it missed from there.
        if ids.is_empty() || self.disabled.load(Ordering::Relaxed) {
            return;
        }
        let result = self.raw.write(|w| {
            // Inside the write transaction: a fill compares it inside its
            // own, so a fill is either before (and its entries are removed
            // here) or after (and is dropped).
            self.forgotten.fetch_add(1, Ordering::SeqCst);
            let mut bytes = meta_u64(w, b"bytes")?;
            for id in ids {
                let key = id.as_bytes();
                let Some(old) = w.get(EVENTS, key)? else {
                    continue;
                };
                let old_len = old.len() as u64;
                let filled_at = split(old).map(|(_, at, _, _)| at);
                w.delete(EVENTS, key)?;
                if let Some(filled_at) = filled_at {
                    w.delete(AGE, &age_key(filled_at, key))?;
                }
                bytes = bytes.saturating_sub(old_len + ENTRY_OVERHEAD);
            }
            w.put(META, b"bytes", &bytes.to_be_bytes())?;
            Ok(bytes)
        });
        self.settle("forget", result);
    }

    /// Removes every entry and distrusts every flag (a tenant was erased,
    /// or the change log was pruned past this node's position so that
    /// some forgetting may have been missed).
    pub(crate) fn wipe(&self) {
        if self.disabled.load(Ordering::Relaxed) {
            return;
        }
        let result = self.raw.write(|w| {
            self.forgotten.fetch_add(1, Ordering::SeqCst);
            self.generation.fetch_add(1, Ordering::SeqCst);
            w.clear(EVENTS)?;
            w.clear(AGE)?;
            w.put(META, b"bytes", &0u64.to_be_bytes())?;
            Ok(0u64)
        });
        if result.is_err() {
            // `settle` clears the entries again or disables the cache.
            self.forgotten.fetch_add(1, Ordering::SeqCst);
        }
        self.settle("wipe", result);
    }

    /// Runs `read` on a snapshot; `None` when the cache is disabled or
    /// LMDB fails (a miss, never an error of the call).
    pub(crate) fn read<T>(&self, read: impl FnOnce(&Snapshot<'_, '_>) -> T) -> Option<T> {
        if self.disabled.load(Ordering::Relaxed) {
            return None;
        }
        self.raw.read(|raw| Ok(read(&Snapshot { read: raw }))).ok()
    }

    /// Stores records read from PostgreSQL after `capture`. An entry whose
    /// flags may have changed since (a flag notification was applied in
    /// between) is stored with stamp 0: its body is kept, its flags are
    /// re-read on the next use. Entries already valid in this epoch are
    /// left alone: they are at least as fresh.
    pub(crate) fn fill(&self, capture: Capture, records: &[(EventId, Vec<u8>)]) {
        if records.is_empty() || self.disabled.load(Ordering::Relaxed) {
            return;
        }
        let result = self.raw.write(|w| {
            // Inside the write transaction: flag changes are applied in
            // write transactions too, so this comparison is atomic with
            // respect to them.
            if self.forgotten.load(Ordering::SeqCst) != capture.forgotten {
                // Something was forgotten since the read: its records may
                // hold a payload or an event that is gone now.
                return meta_u64(w, b"bytes");
            }
            let unchanged = self.generation.load(Ordering::SeqCst) == capture.generation;
            let stamp = if unchanged { capture.epoch } else { 0 };
            let current = self.epoch();
            let now = now_micros();
            let mut bytes = meta_u64(w, b"bytes")?;
            for (id, record) in records {
                let key = id.as_bytes();
                if let Some(old) = w.get(EVENTS, key)? {
                    let Some((old_stamp, old_at, _, _)) = split(old) else {
                        continue;
                    };
                    if old_stamp == current && current != 0 {
                        continue;
                    }
                    let old_len = old.len() as u64;
                    w.delete(AGE, &age_key(old_at, key))?;
                    bytes = bytes.saturating_sub(old_len + ENTRY_OVERHEAD);
                }
                let value = entry(stamp, now, record);
                bytes += value.len() as u64 + ENTRY_OVERHEAD;
                w.put(EVENTS, key, &value)?;
                w.put(AGE, &age_key(now, key), &[])?;
            }
            w.put(META, b"bytes", &bytes.to_be_bytes())?;
            Ok(bytes)
        });
        self.settle("fill", result);
    }

    /// Sets `flags` on the cached entry of `id` (if any) and records that a
    /// flag changed, so that concurrent fills do not trust older reads.
    pub(crate) fn set_flags(&self, id: EventId, flags: EventFlags) {
        let result = self.raw.write(|w| {
            self.generation.fetch_add(1, Ordering::SeqCst);
            let key = id.as_bytes();
            let Some(old) = w.get(EVENTS, key)? else {
                return Ok(self.bytes.load(Ordering::Relaxed));
            };
            let Some((stamp, filled_at, _, record)) = split(old) else {
                return Ok(self.bytes.load(Ordering::Relaxed));
            };
            let mut record = record.to_vec();
            if let Some(byte) = record.get_mut(FLAGS_AT) {
                *byte |= flags.bits();
            }
            let value = entry(stamp, filled_at, &record);
            w.put(EVENTS, key, &value)?;
            Ok(self.bytes.load(Ordering::Relaxed))
        });
        self.settle("set_flags", result);
    }

    /// Distrusts every cached flag (notifications may have been missed).
    pub(crate) fn bump_epoch(&self) {
        let result = self.raw.write(|w| {
            self.generation.fetch_add(1, Ordering::SeqCst);
            let epoch = self.epoch().saturating_add(1);
            w.put(META, b"epoch", &epoch.to_be_bytes())?;
            self.epoch.store(epoch, Ordering::SeqCst);
            Ok(self.bytes.load(Ordering::Relaxed))
        });
        if result.is_err() {
            // The epoch moves in memory anyway; `settle` then drops every
            // entry, so no entry stamped in this run outlives the failure.
            self.generation.fetch_add(1, Ordering::SeqCst);
            self.epoch.fetch_add(1, Ordering::SeqCst);
        }
        self.settle("bump_epoch", result);
    }

    /// Evicts entries filled before `max_age` ago, then the oldest ones
    /// until the cache is under 90% of `max_bytes`. Returns how many went.
    pub(crate) fn evict(&self, max_bytes: u64, max_age: Duration) -> usize {
        if self.disabled.load(Ordering::Relaxed) {
            return 0;
        }
        let max_age_us = u64::try_from(max_age.as_micros()).unwrap_or(u64::MAX);
        let cutoff = now_micros().saturating_sub(max_age_us);
        let mut evicted = 0;
        loop {
            let target = if self.bytes.load(Ordering::Relaxed) > max_bytes {
                max_bytes / 10 * 9
            } else {
                u64::MAX
            };
            let result = self.raw.write(|w| {
                let mut bytes = meta_u64(w, b"bytes")?;
                let mut count = 0;
                for (age, _) in w.first(AGE, EVICT_BATCH)? {
                    let filled_at = u64_at(&age, 0).unwrap_or(0);
                    if bytes <= target && filled_at >= cutoff {
                        break;
                    }
                    let id = age.get(8..).unwrap_or_default().to_vec();
                    let len = w.get(EVENTS, &id)?.map_or(0, <[u8]>::len) as u64;
                    w.delete(EVENTS, &id)?;
                    w.delete(AGE, &age)?;
                    bytes = bytes.saturating_sub(len + ENTRY_OVERHEAD);
                    count += 1;
                }
                w.put(META, b"bytes", &bytes.to_be_bytes())?;
                Ok((bytes, count))
            });
            match result {
                Ok((bytes, count)) => {
                    self.bytes.store(bytes, Ordering::Relaxed);
                    evicted += count;
                    if count < EVICT_BATCH {
                        return evicted;
                    }
                }
                Err(error) => {
                    self.settle::<u64>("evict", Err(error));
                    return evicted;
                }
            }
        }
    }

    /// Entries and accounted bytes.
    pub(crate) fn stats(&self) -> (u64, u64) {
        let entries = self.read(|s| s.read.len(EVENTS).unwrap_or(0)).unwrap_or(0);
        (entries, self.bytes.load(Ordering::Relaxed))
    }

    /// Records the byte count of a successful write; on a failed one
    /// drops every entry (a cache that could not be written is suspect),
    /// and if even that fails stops using the cache until reopened. A
    /// cache failure never fails the caller's call.
    fn settle<T: Into<u64>>(&self, operation: &str, result: Result<T, LmdbError>) {
        match result {
            Ok(bytes) => self.bytes.store(bytes.into(), Ordering::Relaxed),
            Err(error) => {
                tracing::warn!(%error, operation, "cache write failed; dropping the cache");
                let cleared = self.raw.write(|w| {
                    w.clear(EVENTS)?;
                    w.clear(AGE)?;
                    w.put(META, b"bytes", &0u64.to_be_bytes())
                });
                match cleared {
                    Ok(()) => self.bytes.store(0, Ordering::Relaxed),
                    Err(error) => {
                        tracing::error!(%error, "cannot clear the cache; bypassing it");
                        self.disabled.store(true, Ordering::Relaxed);
                    }
                }
            }
        }
    }
}

fn foreign(path: &Path) -> LmdbError {
    LmdbError::IncompatibleFormat {
        path: path.to_path_buf(),
        found: "not an eventdag-tiered cache".into(),
        supported: 1,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use uuid::Uuid;

    fn open(dir: &Path) -> HotCache {
        HotCache::open(dir, &LmdbOptions::default().map_size(64 << 20)).unwrap()
    }

    fn record(id: EventId) -> (EventId, Vec<u8>) {
        // Any bytes do for the accounting; `get` parses, so use `raw` reads.
        (id, vec![7; 100])
    }

    fn present(cache: &HotCache, id: EventId) -> bool {
        cache
            .raw
            .read(|r| Ok(r.get(EVENTS, id.as_bytes())?.is_some()))
            .unwrap()
    }

    #[test]
    fn a_fill_read_before_a_forget_stores_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let cache = open(dir.path());
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        cache.fill(cache.capture(), &[record(a)]);
        let before = cache.capture();
        cache.forget(&[a]);
        assert!(!present(&cache, a));
        cache.fill(before, &[record(a), record(b)]);
        assert!(
            !present(&cache, a) && !present(&cache, b),
            "records read before the forget could hold what was forgotten"
        );
        cache.fill(cache.capture(), &[record(b)]);
        assert!(present(&cache, b), "a fill after it stores again");
    }

    #[test]
    fn forget_and_wipe_keep_the_accounting() {
        let dir = tempfile::tempdir().unwrap();
        let cache = open(dir.path());
        let ids: Vec<EventId> = (0..3).map(|_| Uuid::now_v7()).collect();
        let records: Vec<_> = ids.iter().map(|id| record(*id)).collect();
        cache.fill(cache.capture(), &records[..2]);
        let two = cache.stats();
        cache.fill(cache.capture(), &records[2..]);
        cache.forget(&ids[2..]);
        assert_eq!(cache.stats(), two);
        let left = cache.raw.read(|r| r.len(AGE)).unwrap();
        assert_eq!(left, 2, "the age index lost the forgotten entry too");
        cache.wipe();
        assert_eq!(cache.stats(), (0, 0));
        assert_eq!(cache.raw.read(|r| r.len(AGE)).unwrap(), 0);
    }

    #[test]
    fn the_position_survives_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let cache = open(dir.path());
        assert_eq!(cache.stored_position(), None);
        cache.save_position(42);
        drop(cache);
        assert_eq!(open(dir.path()).stored_position(), Some(42));
    }
}
