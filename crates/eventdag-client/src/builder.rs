//! Building a [`RemoteDag`]: the server's URL, the API key and the knobs,
//! each with a default that needs no changing for correct behaviour.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use eventdag::TenantId;
use reqwest::header::HeaderValue;
use reqwest::Url;

use crate::transport::Transport;
use crate::{ConnectError, RemoteDag, RetryPolicy};

/// Settings of a [`RemoteDag`]; start with [`RemoteDag::builder`].
pub struct RemoteDagBuilder<P> {
    url: String,
    api_key: Option<String>,
    admin_key: Option<String>,
    tenant: Option<TenantId>,
    timeout: Duration,
    connect_timeout: Duration,
    retry: RetryPolicy,
    client: Option<reqwest::Client>,
    assign_ids: bool,
    payload: PhantomData<fn() -> P>,
}

impl<P> std::fmt::Debug for RemoteDagBuilder<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key itself.
        f.debug_struct("RemoteDagBuilder")
            .field("url", &self.url)
            .field("api_key", &self.api_key.is_some())
            .field("admin_key", &self.admin_key.is_some())
            .field("tenant", &self.tenant)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl<P> RemoteDagBuilder<P> {
    pub(crate) fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            api_key: None,
            admin_key: None,
            tenant: None,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            retry: RetryPolicy::default(),
            client: None,
            assign_ids: true,
            payload: PhantomData,
        }
    }

    /// The API key (`edk_…`), sent as `Authorization: Bearer`. Default
    /// none: a server without keys serves the default tenant.
    #[must_use]
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// The server's administrator key (its `admin_key` setting), sent
    /// only to the `/v1/admin` routes: what
    /// [`eventdag::Forgetting::erase_tenant`] needs. Default none: an
    /// erasure is refused before anything is sent.
    #[must_use]
    pub fn admin_key(mut self, key: impl Into<String>) -> Self {
        self.admin_key = Some(key.into());
        self
    }

    /// The tenant the key belongs to. When set, a call naming another
    /// tenant (an event's `tenant_id`, a `tenant_id` argument) is refused
    /// with `InvalidInput` before anything is sent, as the key could not
    /// reach that tenant anyway. Default unset: the server answers every
    /// call for the key's tenant, whatever tenant the call names.
    #[must_use]
    pub fn tenant(mut self, tenant_id: TenantId) -> Self {
        self.tenant = Some(tenant_id);
        self
    }

    /// The time bound of one request, answer included (default 30 s; the
    /// server's own default bound is 30 s too). Live streams have none.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The time bound of opening a connection (default 5 s). Ignored
    /// with [`RemoteDagBuilder::http_client`], whose own settings apply.
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Retries of calls that are safe to repeat (default
    /// [`RetryPolicy::default`]: 3, from 50 ms doubling).
    #[must_use]
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// A `reqwest::Client` of your own (proxies, TLS roots, pool sizes).
    /// It must not set a total timeout, or live streams end after it.
    #[must_use]
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Whether an append without an id gets one chosen here (a UUID v7,
    /// as the store would choose) so that it can be retried safely after
    /// a lost answer. Default true; false sends such appends once and
    /// leaves the id to the server.
    #[must_use]
    pub fn assign_ids(mut self, assign: bool) -> Self {
        self.assign_ids = assign;
        self
    }

    /// The client. Nothing is sent until the first call.
    ///
    /// # Errors
    /// [`ConnectError`] for a URL that is not `http(s)://`, a key that
    /// cannot be a header value, or a failing reqwest builder.
    pub fn build(self) -> Result<RemoteDag<P>, ConnectError> {
        let base = parse_base(&self.url)?;
        let auth = match &self.api_key {
            None => None,
            Some(key) => {
                let mut value = HeaderValue::from_str(&format!("Bearer {key}"))
                    .map_err(|_| ConnectError::InvalidApiKey)?;
                value.set_sensitive(true);
                Some(value)
            }
        };
        let admin_auth = match &self.admin_key {
            None => None,
            Some(key) => {
                let mut value = HeaderValue::from_str(&format!("Bearer {key}"))
                    .map_err(|_| ConnectError::InvalidApiKey)?;
                value.set_sensitive(true);
                Some(value)
            }
        };
        let client = match self.client {
            Some(client) => client,
            None => reqwest::Client::builder()
                .connect_timeout(self.connect_timeout)
                .tcp_nodelay(true)
                .build()?,
        };
        Ok(RemoteDag {
            transport: Arc::new(Transport {
                client,
                base,
                auth,
                admin_auth,
                timeout: self.timeout,
                retry: self.retry,
            }),
            tenant: self.tenant,
            assign_ids: self.assign_ids,
            payload: PhantomData,
        })
    }
}

/// `http(s)://host[:port][/prefix]`, with a trailing `/` so that API
/// paths join under the prefix.
fn parse_base(text: &str) -> Result<Url, ConnectError> {
    let invalid = |reason: String| ConnectError::InvalidUrl {
        url: text.to_owned(),
        reason,
    };
    let mut url = Url::parse(text).map_err(|error| invalid(error.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(format!(
            "scheme {:?} is not http or https",
            url.scheme()
        )));
    }
    if url.host_str().is_none() {
        return Err(invalid("no host".into()));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(
            "a query or fragment has no place in the server address".into(),
        ));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_checked_and_end_in_a_slash() {
        assert_eq!(
            parse_base("http://127.0.0.1:7400").unwrap().as_str(),
            "http://127.0.0.1:7400/"
        );
        assert_eq!(
            parse_base("https://h/api").unwrap().as_str(),
            "https://h/api/"
        );
        for bad in ["127.0.0.1:7400", "ftp://h", "http://h/?x=1", "lmdb:./data"] {
            assert!(parse_base(bad).is_err(), "{bad}");
        }
        let error = RemoteDagBuilder::<serde_json::Value>::new("http://h")
            .api_key("edk_a\nb")
            .build()
            .unwrap_err();
        assert!(matches!(error, ConnectError::InvalidApiKey), "{error}");
    }
}
