//! Documented caps so that no call can exhaust memory.

/// The largest `limit` any list operation honours; larger ones are capped.
pub const MAX_LIMIT: usize = 10_000;

/// The most events `find_correlation_chain` returns (and the most
/// ancestors a signal is delivered to).
pub const MAX_CHAIN_EVENTS: usize = 100_000;

/// The most events one batch append takes.
pub const MAX_BATCH_EVENTS: usize = 10_000;

/// Caps a caller's limit to [`MAX_LIMIT`].
#[must_use]
pub fn capped(limit: usize) -> usize {
    limit.min(MAX_LIMIT)
}
