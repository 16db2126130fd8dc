//! [`RemoteDag`]: the handle, its constructors and the calls beside the
//! traits (verification by the server, health).

use std::marker::PhantomData;
use std::sync::Arc;

use eventdag::{Effect, EventId, TenantId, Verification};
use serde::de::DeserializeOwned;

use crate::reply::Subject;
use crate::transport::{Call, Transport};
use crate::wire::check_tenant;
use crate::{ConnectError, RemoteDagBuilder};

/// An EventDag served by `eventdag serve` on another machine: the
/// [`eventdag::EventDag`] and [`eventdag::DagStore`] traits over the
/// HTTP/JSON API, generic over the payload like the embedded stores.
///
/// A client sees one tenant: the API key's. The trait's store-wide calls
/// (`read`, the walks, `find_by_kind`, `unacknowledged`) answer within it,
/// and another tenant's events read as not found, as in SPEC §1 for every
/// multi-tenant interface. Cloning is cheap and shares the connections.
pub struct RemoteDag<P> {
    pub(crate) transport: Arc<Transport>,
    pub(crate) tenant: Option<TenantId>,
    pub(crate) assign_ids: bool,
    pub(crate) payload: PhantomData<fn() -> P>,
}

impl<P> Clone for RemoteDag<P> {
    fn clone(&self) -> Self {
        Self {
            transport: Arc::clone(&self.transport),
            tenant: self.tenant,
            assign_ids: self.assign_ids,
            payload: PhantomData,
        }
    }
}

impl<P> std::fmt::Debug for RemoteDag<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key: only whether there is one.
        f.debug_struct("RemoteDag")
            .field("url", &self.transport.base.as_str())
            .field("api_key", &self.transport.auth.is_some())
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

impl<P> RemoteDag<P> {
    /// A client of the server at `url` (`http://host:port`) with
    /// `api_key` (`None` for a server without keys), on the defaults of
    /// [`RemoteDagBuilder`]. Nothing is sent until the first call.
    ///
    /// # Errors
    /// [`ConnectError`] for a bad URL or key.
    pub fn connect(url: &str, api_key: Option<&str>) -> Result<Self, ConnectError> {
        let builder = Self::builder(url);
        match api_key {
            Some(key) => builder.api_key(key),
            None => builder,
        }
        .build()
    }

    /// A builder for the server at `url`, to set timeouts, retries, the
    /// tenant or a custom `reqwest::Client`.
    #[must_use]
    pub fn builder(url: &str) -> RemoteDagBuilder<P> {
        RemoteDagBuilder::new(url)
    }

    /// The tenant set with [`RemoteDagBuilder::tenant`], if any.
    #[must_use]
    pub fn tenant_id(&self) -> Option<TenantId> {
        self.tenant
    }

    /// The server's base URL.
    #[must_use]
    pub fn url(&self) -> &str {
        self.transport.base.as_str()
    }

    pub(crate) fn check_tenant(&self, named: TenantId) -> Result<(), eventdag::ErrorEffect> {
        check_tenant(self.tenant, named)
    }

    pub(crate) async fn get<T: DeserializeOwned>(&self, call: Call) -> Effect<T> {
        self.transport.send(call).await
    }

    /// Checks one event's stored bytes against its stored hash on the
    /// server (`GET /v1/events/{id}/verify`): one round trip, where
    /// [`eventdag::EventDagExt::verify_event`] fetches the records and
    /// hashes them here.
    pub async fn verify_on_server(&self, event_id: EventId) -> Effect<Verification> {
        self.get(Call::get(
            format!("/v1/events/{event_id}/verify"),
            subject("verify", event_id),
        ))
        .await
    }
}

/// The subject of a call about `event_id`.
pub(crate) fn subject(operation: &'static str, event_id: EventId) -> Subject {
    Subject {
        operation,
        event_id,
    }
}
