//! Identifiers: events and tenants are UUIDs; event ids are version 7.

use uuid::Uuid;

/// The id of an event: a version-7 (time-ordered) UUID.
pub type EventId = Uuid;

/// The id of a tenant. [`DEFAULT_TENANT`] (the nil UUID) is the default tenant.
pub type TenantId = Uuid;

/// The default tenant: the nil UUID.
pub const DEFAULT_TENANT: TenantId = Uuid::nil();

/// A fresh version-7 event id.
#[must_use]
pub fn new_event_id() -> EventId {
    Uuid::now_v7()
}

/// Whether `id` is a version-7 UUID, the only kind accepted as an event id.
#[must_use]
pub fn is_v7(id: &EventId) -> bool {
    id.get_version_num() == 7
}

/// Microseconds since the Unix epoch, now. Saturates instead of failing on
/// a clock set before 1970.
#[must_use]
pub fn now_micros() -> u64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(since_epoch.as_micros()).unwrap_or(u64::MAX)
}
