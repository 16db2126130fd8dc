//! Conveniences on top of [`DagStore`] for every backend: appends of
//! roots, children, forks, merges and batches, and hash verification.
//! Every append goes through [`DagStore::append_events`], so the store
//! answers it inside one write transaction and nothing is read before or
//! after it.

use std::collections::HashMap;

use async_trait::async_trait;
use serde::Serialize;

use crate::backend::{single, StoredRecord};
use crate::hash::compute_hash;
use crate::{
    DagStore, Effect, ErrorEffect, Event, EventHash, EventId, EventKind, Mismatch, NewEvent,
    TenantId, Verification,
};

/// Conveniences every store gets.
#[async_trait]
pub trait EventDagExt: DagStore
where
    Self::Payload: Serialize,
{
    /// Appends one draft (see [`DagStore::append_events`]) and returns it
    /// as stored. By default the store assigns its position inside its
    /// write transaction, so concurrent writers never conflict.
    async fn append_new(&self, draft: NewEvent<Self::Payload>) -> Effect<Event<Self::Payload>> {
        single(self.append_events(vec![draft]).await)
    }

    /// Appends several drafts all or none and returns them as stored;
    /// later drafts may name earlier ones (by their `id`) as parents.
    async fn append_new_batch(
        &self,
        drafts: Vec<NewEvent<Self::Payload>>,
    ) -> Effect<Vec<Event<Self::Payload>>> {
        self.append_events(drafts).await
    }

    /// Appends events at the positions they carry, all or none (SPEC §3
    /// `append`, for many); returns their ids.
    async fn append_batch(&self, events: Vec<Event<Self::Payload>>) -> Effect<Vec<EventId>> {
        let drafts = events.into_iter().map(NewEvent::from).collect();
        self.append_events(drafts)
            .await
            .map(|stored| stored.iter().map(Event::id).collect())
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

    /// Appends a child of `parent` on the parent's lane (the parent is
    /// read first, for its tenant; callers that know the tenant use
    /// [`EventDagExt::append_new`], which reads nothing).
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
}

impl<S> EventDagExt for S
where
    S: DagStore + ?Sized,
    S::Payload: Serialize,
{
}
