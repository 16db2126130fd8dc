//! Which store a command works on: `--store` or the embedded directory.

use std::path::PathBuf;

use anyhow::bail;

use crate::args::StoreArgs;

/// A parsed `--store` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StoreSpec {
    /// In memory, gone when the process ends.
    Memory,
    /// The embedded LMDB store in this directory.
    Lmdb(PathBuf),
    /// PostgreSQL at this URL.
    Postgres(String),
    /// An LMDB cache directory in front of PostgreSQL.
    Tiered(PathBuf, String),
    /// A running `eventdag serve` at this `http://` or `https://` URL.
    Remote(String),
}

impl StoreSpec {
    /// From `--store`, else the embedded store in `--data`.
    pub(crate) fn from_args(args: &StoreArgs) -> anyhow::Result<Self> {
        match &args.store {
            None => Ok(Self::Lmdb(args.data.clone())),
            Some(text) => Self::parse(text),
        }
    }

    /// Parses `memory:`, `lmdb:DIR`, `postgres://…`/`postgresql://…`,
    /// `tiered:DIR,postgres://…` or `http(s)://host:port` (a server).
    pub(crate) fn parse(text: &str) -> anyhow::Result<Self> {
        if text == "memory:" || text == "memory" {
            return Ok(Self::Memory);
        }
        if let Some(dir) = text.strip_prefix("lmdb:") {
            if dir.is_empty() {
                bail!("--store lmdb: needs a directory, e.g. lmdb:./eventdag-data");
            }
            return Ok(Self::Lmdb(PathBuf::from(dir)));
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Ok(Self::Postgres(text.to_string()));
        }
        if text.starts_with("http://") || text.starts_with("https://") {
            return Ok(Self::Remote(text.to_string()));
        }
        if let Some(rest) = text.strip_prefix("tiered:") {
            if let Some((dir, url)) = rest.split_once(',') {
                if !dir.is_empty()
                    && (url.starts_with("postgres://") || url.starts_with("postgresql://"))
                {
                    return Ok(Self::Tiered(PathBuf::from(dir), url.to_string()));
                }
            }
            bail!("--store tiered: needs a cache directory and a PostgreSQL URL, e.g. tiered:./cache,postgres://user@host/db");
        }
        bail!("unknown store {text:?}; accepted: lmdb:DIR, postgres://…, tiered:DIR,postgres://…, http://host:port (a server), memory:")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form_and_explains_mistakes() {
        assert_eq!(StoreSpec::parse("memory:").unwrap(), StoreSpec::Memory);
        assert_eq!(
            StoreSpec::parse("lmdb:/tmp/x").unwrap(),
            StoreSpec::Lmdb("/tmp/x".into())
        );
        assert_eq!(
            StoreSpec::parse("postgres://u@h/db").unwrap(),
            StoreSpec::Postgres("postgres://u@h/db".into())
        );
        assert_eq!(
            StoreSpec::parse("tiered:./c,postgres://u@h/db").unwrap(),
            StoreSpec::Tiered("./c".into(), "postgres://u@h/db".into())
        );
        assert_eq!(
            StoreSpec::parse("http://10.0.0.5:7400").unwrap(),
            StoreSpec::Remote("http://10.0.0.5:7400".into())
        );
        let error = StoreSpec::parse("redis://x").unwrap_err().to_string();
        assert!(error.contains("accepted"), "{error}");
        assert!(StoreSpec::parse("tiered:./c").is_err());
        assert!(StoreSpec::parse("lmdb:").is_err());
    }
}
