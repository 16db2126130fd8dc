//! Conveniences on top of [`DagStore`] for every backend: append with the
//! position worked out (root, child, fork, merge, batch) and hash
//! verification.

use std::collections::HashMap;

use async_trait::async_trait;
use serde::Serialize;

use crate::append_rules::encode_payload;
use crate::hash::compute_hash;
use crate::{
    new_event_id, DagPosition, DagStore, Effect, ErrorEffect, Event, EventHash, EventHeader,
    EventId, EventKind, Mismatch, NewEvent, StoredRecord, TenantId, Verification,
};

/// How often an optimistic append (the provided `DagStore::append_assigned`
/// and `DagStore::append_assigned_batch`, which backends without native
/// position assignment use) re-reads the next sequence after losing a race
/// for it before giving up with the conflict.
pub const MAX_SEQUENCE_RETRIES: u32 = 64;

/// Conveniences every store gets.
#[async_trait]
pub trait EventDagExt: DagStore
where
    Self::Payload: Serialize,
{
    /// Appends `draft` at the next free position of its lane (assigned by
    /// the store inside its write transaction, so concurrent writers never
    /// conflict), or at `draft.position` when given (checked as by
    /// `append`). Returns the stored event.
    async fn append_new(&self, draft: NewEvent<Self::Payload>) -> Effect<Event<Self::Payload>> {
        if let Some(id) = draft.id {
            match self.read(id).await {
                Effect::Ok(stored) => return same_draft(&draft, stored).into(),
                Effect::Err(ErrorEffect::NotFound { .. }) => {}
                other => return other,
            }
        }
        let id = draft.id.unwrap_or_else(new_event_id);
        let appended = match draft.position {
            Some(position) => self.append(event_from_draft(&draft, id, position)).await,
            None => {
                let lane = match self.lane_of(&draft, &HashMap::new()).await {
                    Ok(lane) => lane,
                    Err(error) => return Effect::Err(error),
                };
                let placeholder = DagPosition::new(0, lane, 0);
                self.append_assigned(event_from_draft(&draft, id, placeholder))
                    .await
            }
        };
        match appended.branch() {
            Ok(id) => self.read(id).await,
            Err(effect) => effect,
        }
    }

    /// Appends a root of `tenant_id` on lane 0.
    async fn append_root(
        &self,
        tenant_id: TenantId,
        kind: EventKind,
        payload: Self::Payload,
    ) -> Effect<Event<Self::Payload>> {
        self.append_new(NewEvent::new(payload).tenant(tenant_id).kind(kind))
            .await
    }

    /// Appends a child of `parent` on the parent's lane.
    async fn append_child(
        &self,
        parent: EventId,
        kind: EventKind,
        payload: Self::Payload,
    ) -> Effect<Event<Self::Payload>> {
        let tenant_id = match self.read(parent).await {
            Effect::Ok(parent) => parent.tenant_id,
            other => return other,
        };
        self.append_new(
            NewEvent::new(payload)
                .tenant(tenant_id)
                .parents([parent])
                .kind(kind),
        )
        .await
    }

    /// Appends a child of `parent` that moves to `lane` (a fork).
    async fn fork(
        &self,
        parent: EventId,
        lane: u32,
        kind: EventKind,
        payload: Self::Payload,
    ) -> Effect<Event<Self::Payload>> {
        let tenant_id = match self.read(parent).await {
            Effect::Ok(parent) => parent.tenant_id,
            other => return other,
        };
        self.append_new(
            NewEvent::new(payload)
                .tenant(tenant_id)
                .parents([parent])
                .lane(lane)
                .kind(kind),
        )
        .await
    }

    /// Appends an event with several parents (a fan-in merge) on the first
    /// parent's lane.
    async fn merge(
        &self,
        parents: Vec<EventId>,
        kind: EventKind,
        payload: Self::Payload,
    ) -> Effect<Event<Self::Payload>> {
        let Some(first) = parents.first() else {
            return Effect::Err(ErrorEffect::invalid(
                "parents",
                "a merge needs at least one parent",
            ));
        };
        let tenant_id = match self.read(*first).await {
            Effect::Ok(parent) => parent.tenant_id,
            other => return other,
        };
        self.append_new(
            NewEvent::new(payload)
                .tenant(tenant_id)
                .parents(parents)
                .kind(kind),
        )
        .await
    }

    /// Appends several drafts all or none; later drafts may name earlier
    /// ones (by their `id`) as parents. When no draft gives a position,
    /// the store assigns them all inside its write transaction
    /// ([`DagStore::append_assigned_batch`]: concurrent writers never
    /// conflict); otherwise the missing ones are worked out here and a
    /// sequence taken meanwhile is a conflict.
    async fn append_new_batch(&self, drafts: Vec<NewEvent<Self::Payload>>) -> Effect<Vec<EventId>> {
        if drafts.iter().all(|draft| draft.position.is_none()) {
            return match self.lanes_of_batch(&drafts).await {
                Ok(events) => self.append_assigned_batch(events).await,
                Err(error) => Effect::Err(error),
            };
        }
        match self.place_batch(&drafts).await {
            Ok(events) => self.append_batch(events).await,
            Err(error) => Effect::Err(error),
        }
    }

    /// Checks one event's stored bytes against its stored hash.
    async fn verify_event(&self, event_id: EventId) -> Effect<Verification> {
        let record = match self.stored_record(event_id).await.branch() {
            Ok(record) => record,
            Err(effect) => return effect,
        };
        match self.check_record(&record, &HashMap::new()).await {
            Ok(mismatch) => Effect::Ok(Verification {
                checked: 1,
                first_mismatch: mismatch,
            }),
            Err(error) => Effect::Err(error),
        }
    }

    /// Checks every event of a chain in topological order; reports the
    /// first whose stored bytes no longer match.
    async fn verify_chain(
        &self,
        tenant_id: TenantId,
        correlation_id: EventId,
    ) -> Effect<Verification> {
        let records = match self.chain_records(tenant_id, correlation_id).await.branch() {
            Ok(records) => records,
            Err(effect) => return effect,
        };
        let known: HashMap<EventId, EventHash> = records
            .iter()
            .map(|r| (r.header.event_id, r.hash))
            .collect();
        let mut checked = 0;
        for record in &records {
            checked += 1;
            match self.check_record(record, &known).await {
                Ok(None) => {}
                Ok(Some(mismatch)) => {
                    return Effect::Ok(Verification {
                        checked,
                        first_mismatch: Some(mismatch),
                    })
                }
                Err(error) => return Effect::Err(error),
            }
        }
        Effect::Ok(Verification {
            checked,
            first_mismatch: None,
        })
    }

    #[doc(hidden)]
    async fn check_record(
        &self,
        record: &StoredRecord,
        known: &HashMap<EventId, EventHash>,
    ) -> Result<Option<Mismatch>, ErrorEffect> {
        let mut parents = Vec::with_capacity(record.parents.len());
        for parent in &record.parents {
            let hash = match known.get(parent) {
                Some(hash) => *hash,
                None => self.stored_record(*parent).await.into_result()?.hash,
            };
            parents.push((*parent, hash));
        }
        let computed = compute_hash(
            &record.header,
            &record.tenant_id,
            &parents,
            &record.payload_bytes,
        );
        Ok((computed != record.hash).then_some(Mismatch {
            event_id: record.header.event_id,
            stored: record.hash,
            computed,
        }))
    }

    #[doc(hidden)]
    /// The lane a draft without a position goes on: its own, else its
    /// first parent's (looked up in `in_batch`, else read), else 0. Only
    /// the first parent is read, for its lane; the store checks every
    /// parent in its transaction, so a missing one is left for it to
    /// report (`ParentNotFound`, naming the new event).
    async fn lane_of(
        &self,
        draft: &NewEvent<Self::Payload>,
        in_batch: &HashMap<EventId, u32>,
    ) -> Result<u32, ErrorEffect> {
        let first = match (draft.lane, draft.parents.first()) {
            (Some(lane), _) => return Ok(lane),
            (None, None) => return Ok(0),
            (None, Some(first)) => *first,
        };
        if let Some(lane) = in_batch.get(&first) {
            return Ok(*lane);
        }
        match self.read(first).await.into_result() {
            Ok(parent) => Ok(parent.header.position.lane),
            Err(ErrorEffect::NotFound { .. }) => Ok(0),
            Err(error) => Err(error),
        }
    }

    #[doc(hidden)]
    /// The drafts as events on their lanes (given, or the first parent's),
    /// depth and sequence left for the store to assign.
    async fn lanes_of_batch(
        &self,
        drafts: &[NewEvent<Self::Payload>],
    ) -> Result<Vec<Event<Self::Payload>>, ErrorEffect> {
        let mut lanes: HashMap<EventId, u32> = HashMap::new();
        let mut events = Vec::with_capacity(drafts.len());
        for draft in drafts {
            let id = draft.id.unwrap_or_else(new_event_id);
            let lane = self.lane_of(draft, &lanes).await?;
            lanes.insert(id, lane);
            events.push(event_from_draft(draft, id, DagPosition::new(0, lane, 0)));
        }
        Ok(events)
    }

    #[doc(hidden)]
    async fn place_batch(
        &self,
        drafts: &[NewEvent<Self::Payload>],
    ) -> Result<Vec<Event<Self::Payload>>, ErrorEffect> {
        let mut in_batch: HashMap<EventId, (u32, u32)> = HashMap::new();
        let mut next_sequence: HashMap<(TenantId, u32), u32> = HashMap::new();
        let mut events = Vec::with_capacity(drafts.len());
        for draft in drafts {
            let id = draft.id.unwrap_or_else(new_event_id);
            let position = if let Some(position) = draft.position {
                position
            } else {
                let mut depth = 0;
                let mut first_lane = None;
                for parent in &draft.parents {
                    let (parent_depth, parent_lane) = match in_batch.get(parent) {
                        Some(known) => *known,
                        None => {
                            let stored = self.read(*parent).await.into_result()?;
                            (stored.header.position.depth, stored.header.position.lane)
                        }
                    };
                    depth = depth.max(parent_depth + 1);
                    first_lane.get_or_insert(parent_lane);
                }
                let lane = draft.lane.or(first_lane).unwrap_or(0);
                let key = (draft.tenant_id, lane);
                let sequence = match next_sequence.get(&key) {
                    Some(sequence) => *sequence,
                    None => {
                        self.next_position_for_tenant(draft.tenant_id, None, lane)
                            .await
                            .into_result()?
                            .sequence
                    }
                };
                DagPosition::new(depth, lane, sequence)
            };
            next_sequence.insert(
                (draft.tenant_id, position.lane),
                position.sequence.saturating_add(1),
            );
            in_batch.insert(id, (position.depth, position.lane));
            events.push(event_from_draft(draft, id, position));
        }
        Ok(events)
    }
}

impl<S> EventDagExt for S
where
    S: DagStore + ?Sized,
    S::Payload: Serialize,
{
}

fn event_from_draft<P: Clone>(draft: &NewEvent<P>, id: EventId, position: DagPosition) -> Event<P> {
    let header = EventHeader::new(
        id,
        draft.correlation_id.unwrap_or_default(),
        draft.timestamp.unwrap_or(0),
        position,
        0,
        draft.kind,
        draft.flags,
    );
    Event::new(header, draft.payload.clone())
        .with_tenant(draft.tenant_id)
        .with_parents(draft.parents.clone())
}

/// Whether a stored event is what `draft` would have stored: the
/// idempotent retry of a draft with a client-chosen id.
fn same_draft<P: Serialize>(
    draft: &NewEvent<P>,
    stored: Event<P>,
) -> Result<Event<P>, ErrorEffect> {
    let event_id = stored.header.event_id;
    let header = &stored.header;
    let difference = if draft.tenant_id != stored.tenant_id {
        // Another tenant's event must not be revealed: not found.
        return Err(ErrorEffect::NotFound { event_id });
    } else if draft.parents != stored.parents {
        Some("parents")
    } else if draft.kind != header.event_kind {
        Some("kind")
    } else if draft.flags != header.flags.difference(crate::EventFlags::STORE_MANAGED) {
        Some("flags")
    } else if draft.lane.is_some_and(|lane| lane != header.position.lane) {
        Some("lane")
    } else if draft
        .position
        .is_some_and(|position| position != header.position)
    {
        Some("position")
    } else if draft
        .correlation_id
        .is_some_and(|id| id != header.correlation_id)
    {
        Some("correlation_id")
    } else if encode_payload(event_id, &draft.payload)?
        != encode_payload(event_id, &stored.payload)?
    {
        Some("payload")
    } else {
        None
    };
    match difference {
        None => Ok(stored),
        Some(field) => Err(ErrorEffect::IdConflict {
            event_id,
            difference: format!("{field} differs"),
        }),
    }
}
