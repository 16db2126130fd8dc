//! Why a [`crate::RemoteDag`] could not be built. Errors of the calls
//! themselves are [`eventdag::ErrorEffect`]s, the same the stores return.

/// A client that cannot be built: nothing was sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The server address is not an `http://` or `https://` URL. Give one
    /// such as `http://127.0.0.1:7400`.
    #[error(
        "invalid server URL {url:?}: {reason}; accepted: http://host:port or https://host:port"
    )]
    InvalidUrl {
        /// The address given.
        url: String,
        /// What was wrong with it.
        reason: String,
    },
    /// The API key cannot be sent in an HTTP header (it holds control
    /// characters or non-ASCII text). Keys look like `edk_<prefix>_<secret>`.
    #[error("the API key cannot be sent in an Authorization header: it must be visible ASCII, like edk_<prefix>_<secret>")]
    InvalidApiKey,
    /// reqwest could not build its HTTP client (TLS backend, resolver).
    #[error("cannot build the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}
