//! `Placement`: whether an append's position is given or assigned.

use crate::DagPosition;

/// Where an appended event goes: the one switch between SPEC §3's checked
/// positions and positions the store assigns inside its write transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// The event must take exactly this position: depth `1 + max(parent
    /// depths)` and the lane's next free sequence, else the append is
    /// refused (`InvalidDepth`, `SequenceConflict`) — optimistic
    /// concurrency.
    Given(DagPosition),
    /// The store assigns depth and sequence inside its write transaction,
    /// so concurrent writers never conflict: the depth the parents imply
    /// and the next free sequence of the lane — `lane` when given, else
    /// the first parent's lane (0 for a root).
    Assigned {
        /// The lane; `None` for the first parent's.
        lane: Option<u32>,
    },
}

impl Default for Placement {
    /// Assigned, on the first parent's lane.
    fn default() -> Self {
        Self::Assigned { lane: None }
    }
}

impl Placement {
    /// The lane the placement names, if it names one.
    #[must_use]
    pub fn lane(&self) -> Option<u32> {
        match self {
            Self::Given(position) => Some(position.lane),
            Self::Assigned { lane } => *lane,
        }
    }
}
