//! Where an event sits in the graph: depth, lane and per-lane sequence.

use serde::{Deserialize, Serialize};

/// The position of an event.
///
/// `depth` is 0 for a root and `1 + max(parent depths)` otherwise; `lane`
/// is a parallel track (0 = main); `sequence` numbers the events of one
/// (tenant, lane) from 0 without gaps.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
pub struct DagPosition {
    /// Distance from the roots: 0 for a root.
    pub depth: u32,
    /// Parallel track; 0 is the main lane.
    pub lane: u32,
    /// Gap-free counter of the events of one (tenant, lane), from 0.
    pub sequence: u32,
}

impl DagPosition {
    /// A position from its three parts.
    #[must_use]
    pub const fn new(depth: u32, lane: u32, sequence: u32) -> Self {
        Self {
            depth,
            lane,
            sequence,
        }
    }

    /// The first position of a lane for a root: depth 0, sequence 0.
    #[must_use]
    pub const fn root() -> Self {
        Self::new(0, 0, 0)
    }
}

impl std::fmt::Display for DagPosition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "depth {} lane {} sequence {}",
            self.depth, self.lane, self.sequence
        )
    }
}
