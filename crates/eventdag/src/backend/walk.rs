//! Best-first graph walks shared by the backends.
//!
//! Ancestors are visited from a max-heap keyed by position, descendants
//! from a min-heap. Every parent is strictly shallower than its child, so
//! whatever is still undiscovered sorts behind the heap's top: events come
//! out already in contract order and the walk stops after `limit` of them
//! without exploring the rest of the graph.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};

use foldhash::fast::RandomState;

use crate::{DagPosition, EventId};

/// Which way to walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalkDirection {
    /// Towards the roots: depth descending, then (lane, sequence) descending.
    Ancestors,
    /// Towards the leaves: depth ascending, then (lane, sequence) ascending.
    Descendants,
}

/// Walks size their tables for up to this many events up front, so that
/// a typical walk never rehashes (and a huge limit allocates nothing big
/// for a small graph).
pub const PRESIZED: usize = 1024;

/// A node of a walk: the id and the position it sorts by.
pub type WalkNode = (EventId, DagPosition);

type Key = (u32, u32, u32, EventId);

fn key((id, position): WalkNode) -> Key {
    (position.depth, position.lane, position.sequence, id)
}

/// Walks from `start` (which comes first) and returns at most `limit` ids
/// in contract order. `neighbours(id)` returns the parents (ancestors walk)
/// or children (descendants walk) of `id` with their positions.
///
/// # Errors
/// The first error `neighbours` returns.
pub fn walk<E>(
    start: WalkNode,
    limit: usize,
    direction: WalkDirection,
    mut neighbours: impl FnMut(EventId) -> Result<Vec<WalkNode>, E>,
) -> Result<Vec<EventId>, E> {
    let mut out = Vec::new();
    if limit == 0 {
        return Ok(out);
    }
    // foldhash, seeded per process: a walk hashes every id it meets, and
    // SipHash was a tenth of a cached walk.
    let mut seen: HashSet<EventId, RandomState> =
        HashSet::with_capacity_and_hasher(limit.min(PRESIZED), RandomState::default());
    seen.insert(start.0);
    let mut ancestors_heap: BinaryHeap<Key> = BinaryHeap::new();
    let mut descendants_heap: BinaryHeap<Reverse<Key>> = BinaryHeap::new();
    let push = |node: WalkNode,
                ancestors: &mut BinaryHeap<Key>,
                descendants: &mut BinaryHeap<Reverse<Key>>| match direction {
        WalkDirection::Ancestors => ancestors.push(key(node)),
        WalkDirection::Descendants => descendants.push(Reverse(key(node))),
    };
    push(start, &mut ancestors_heap, &mut descendants_heap);
    loop {
        let next = match direction {
            WalkDirection::Ancestors => ancestors_heap.pop(),
            WalkDirection::Descendants => descendants_heap.pop().map(|Reverse(key)| key),
        };
        let Some((_, _, _, id)) = next else { break };
        out.push(id);
        if out.len() >= limit {
            break;
        }
        for node in neighbours(id)? {
            if seen.insert(node.0) {
                push(node, &mut ancestors_heap, &mut descendants_heap);
            }
        }
    }
    Ok(out)
}
