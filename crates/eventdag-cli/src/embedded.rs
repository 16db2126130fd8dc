//! Opening the embedded store the way a command needs it: commands that
//! only read open an existing store read-only (beside a running server,
//! creating nothing); commands that write take the directory's lock; only
//! the commands that start a store's life may create one, and only in a
//! new or empty directory.

use std::path::Path;

use anyhow::anyhow;
use eventdag::RawJson;
use eventdag_lmdb::{LmdbDag, LmdbError, LmdbOptions};

use crate::args::{Command, KeyCommand, RetentionCommand, TenantCommand, WorkCommand};

/// Whether `path` holds nothing yet: a store opened there is one this
/// run creates.
pub(crate) fn is_new(path: &Path) -> bool {
    std::fs::read_dir(path).map_or(true, |mut entries| entries.next().is_none())
}

/// Removes the store a failed run created at `path` (which [`is_new`]
/// found empty or missing), so that a refused `import` leaves the
/// directory as it was: missing, or empty.
///
/// # Errors
/// When the files cannot be removed.
pub(crate) fn remove_created(path: &Path, existed: bool) -> anyhow::Result<()> {
    let removal = if existed {
        eventdag_lmdb::STORE_FILES
            .iter()
            .map(|name| path.join(name))
            .filter(|file| file.exists())
            .try_for_each(std::fs::remove_file)
    } else {
        std::fs::remove_dir_all(path)
    };
    removal.map_err(|error| {
        anyhow!(
            "the store this run created at {} could not be removed: {error}",
            path.display()
        )
    })
}

/// What a command does with the embedded store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Reads only: read-only, no lock, never creates.
    Read,
    /// Writes an existing store: the exclusive lock, never creates.
    Write,
    /// Writes, and may create the store in a new or empty directory: the
    /// first `append`, `import`, `serve`, `tenant create` or `bench` of a
    /// new `./eventdag-data`.
    Create,
}

impl Access {
    /// The access `command` needs.
    pub(crate) fn of(command: &Command) -> Self {
        match command {
            Command::Append(_)
            | Command::Import(_)
            | Command::Serve { .. }
            | Command::Bench(_)
            | Command::Tenant(TenantCommand::Create { .. }) => Self::Create,
            Command::Ack { .. }
            | Command::Signal {
                signal: Some(_), ..
            }
            | Command::Key(KeyCommand::Create { .. } | KeyCommand::Revoke { .. })
            | Command::Tenant(TenantCommand::Delete { .. })
            | Command::Redact { .. }
            | Command::Retention(
                RetentionCommand::Set { .. }
                | RetentionCommand::Clear { .. }
                | RetentionCommand::Run { dry_run: false, .. },
            )
            | Command::Work(
                WorkCommand::Claim { .. }
                | WorkCommand::Extend { .. }
                | WorkCommand::Release { .. }
                | WorkCommand::Ack { .. }
                | WorkCommand::Requeue { .. },
            ) => Self::Write,
            Command::Get { .. }
            | Command::Ancestors(_)
            | Command::Descendants(_)
            | Command::Chain { .. }
            | Command::Unacked { .. }
            | Command::Signal { signal: None, .. }
            | Command::Verify(_)
            | Command::Export(_)
            | Command::Tenant(TenantCommand::List)
            | Command::Compact { .. }
            | Command::Retention(
                RetentionCommand::Show { .. } | RetentionCommand::Run { dry_run: true, .. },
            )
            | Command::Work(WorkCommand::Dead { .. } | WorkCommand::Show { .. }) => Self::Read,
        }
    }
}

/// Opens the embedded store in `path` for `access`.
pub(crate) fn open(path: &Path, access: Access) -> anyhow::Result<LmdbDag<RawJson>> {
    let options = match access {
        Access::Read => LmdbOptions::default().read_only(true),
        Access::Write => LmdbOptions::default().create(false),
        Access::Create => LmdbOptions::default(),
    };
    options
        .open(path)
        .map_err(|error| explain(path, access, error))
}

/// The error, with what to do about it from the command line.
fn explain(path: &Path, access: Access, error: LmdbError) -> anyhow::Error {
    let hint = match (&error, access) {
        (LmdbError::NotAStore { .. }, Access::Read | Access::Write) => Some(
            "this command needs an existing store: point --data, $EVENTDAG_DATA or --store lmdb:DIR at one (`append`, `import`, `serve` and `tenant create` create a store in a new or empty directory)",
        ),
        (LmdbError::Locked { .. }, _) => Some(
            "while `eventdag serve` runs on this directory, write through its HTTP API; commands that only read (get, ancestors, descendants, chain, unacked, verify, export, tenant list) work beside it",
        ),
        _ => None,
    };
    let context = format!("cannot open the embedded store in {}", path.display());
    match hint {
        // These variants carry no source: the message is the whole error.
        Some(hint) => anyhow!("{error}; {hint}").context(context),
        None => anyhow::Error::new(error).context(context),
    }
}
