//! A compacted copy of a store: only the pages in use, in a new
//! directory. LMDB never overwrites a page in place, so the bytes of a
//! redacted payload or a removed chain stay in free pages of `data.mdb`
//! until a later commit reuses them; a compacted copy holds none of them
//! (docs/forgetting.md, "Bytes left on disk").

use std::path::Path;

use heed::CompactionOption;

use crate::layout::DATA_FILE;
use crate::{LmdbDag, LmdbError};

impl<P> LmdbDag<P> {
    /// Writes a compacted copy of the store into `target`, a directory that
    /// does not exist or is empty; open it with [`LmdbDag::open`]. The copy
    /// is a consistent snapshot taken while writes go on; it holds no free
    /// pages, so no byte of redacted or removed data. To purge those bytes
    /// from the live store: stop it, compact, and replace its directory
    /// with the copy.
    ///
    /// # Errors
    /// `target` holds files or cannot be created, or LMDB fails to copy.
    pub fn compact_into(&self, target: impl AsRef<Path>) -> Result<(), LmdbError> {
        let target = target.as_ref();
        let io = |source| LmdbError::Io {
            path: target.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(target).map_err(io)?;
        if std::fs::read_dir(target).map_err(io)?.next().is_some() {
            return Err(LmdbError::NotAStore {
                path: target.to_path_buf(),
                found:
                    "a directory that is not empty; a compacted copy needs a new or empty directory"
                        .into(),
            });
        }
        let file = self
            .shared
            .env
            .copy_to_path(target.join(DATA_FILE), CompactionOption::Enabled)
            .map_err(|error| LmdbError::Lmdb {
                path: target.to_path_buf(),
                message: format!("compacted copy failed: {error}"),
            })?;
        file.sync_all().map_err(io)
    }
}
