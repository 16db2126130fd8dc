//! Wake-ups for live streams: this server's own writes bump a counter that
//! streams wait on; writes of other processes are found by polling.

use tokio::sync::watch;

/// Counts this server's writes; streams wait for it to change.
pub(crate) struct Notifier {
    writes: watch::Sender<u64>,
}

impl Notifier {
    pub(crate) fn new() -> Self {
        Self {
            writes: watch::channel(0).0,
        }
    }

    /// Tells every waiting stream that something was written.
    pub(crate) fn poke(&self) {
        self.writes
            .send_modify(|count| *count = count.wrapping_add(1));
    }

    /// A receiver that sees every later poke (a `watch` never loses the
    /// latest change, so a poke between two waits is not missed).
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.writes.subscribe()
    }
}
