//! Conveniences on top of [`DagStore`] for every backend: appends of
//! roots, children, forks, merges and batches, and hash verification.
//! Every append goes through [`DagStore::append_events`], so the store
//! answers it inside one write transaction and nothing is read before or
//! after it.

use std::collections::HashMap;

use async_trait::async_trait;
use serde::Serialize;

use crate::backend::{single, StoredRecord};
use crate::hash::{compute_hash_as, PayloadEvidence};
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
        let mut verification = Verification::default();
        match self.check_record(&record, &HashMap::new()).await {
            Ok(check) => {
                verification.note(&record, check);
                Effect::Ok(verification)
            }
            Err(error) => Effect::Err(error),
        }
    }

    /// Checks every event of a chain in topological order; reports the
    /// first whose stored bytes no longer match, and the redacted ones.
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
        let mut verification = Verification::default();
        for record in &records {
            match self.check_record(record, &known).await {
                Ok(check) => {
                    if verification.note(record, check) {
                        break;
                    }
                }
                Err(error) => return Effect::Err(error),
            }
        }
        Effect::Ok(verification)
    }

    #[doc(hidden)]
    async fn check_record(
        &self,
        record: &StoredRecord,
        known: &HashMap<EventId, EventHash>,
    ) -> Result<RecordCheck, ErrorEffect> {
        let mut parents = Vec::with_capacity(record.parents.len());
        for parent in &record.parents {
            let hash = match known.get(parent) {
                Some(hash) => *hash,
                None => self.stored_record(*parent).await.into_result()?.hash,
            };
            parents.push((*parent, hash));
        }
        Ok(RecordCheck::of(record, &parents))
    }
}

/// What checking one stored record against its hash found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordCheck {
    /// The stored bytes match the hash.
    Intact,
    /// Redacted, and the kept payload hash matches (version 2).
    Redacted,
    /// Redacted under version 1: the hash covered the removed bytes.
    Unverifiable,
    /// The stored record does not match; the hash of what is stored now.
    Mismatch(EventHash),
}

impl RecordCheck {
    /// Checks `record` given its parents' stored hashes, in its parent
    /// order, under the record's own hash version.
    #[must_use]
    pub fn of(record: &StoredRecord, parents: &[(EventId, EventHash)]) -> Self {
        let evidence = match &record.redaction {
            Some(redaction) => PayloadEvidence::Hash(redaction.payload_hash),
            None => PayloadEvidence::Bytes(&record.payload_bytes),
        };
        let Some(computed) = compute_hash_as(
            record.hash_version,
            &record.header,
            &record.tenant_id,
            parents,
            evidence,
        ) else {
            return RecordCheck::Unverifiable;
        };
        if computed != record.hash {
            RecordCheck::Mismatch(computed)
        } else if record.redaction.is_some() {
            RecordCheck::Redacted
        } else {
            RecordCheck::Intact
        }
    }
}

impl Verification {
    /// Counts one checked record; `true` when it was the first mismatch
    /// (verification stops there).
    fn note(&mut self, record: &StoredRecord, check: RecordCheck) -> bool {
        self.checked += 1;
        let event_id = record.header.event_id;
        match check {
            RecordCheck::Intact => false,
            RecordCheck::Redacted => {
                self.redacted.push(event_id);
                false
            }
            RecordCheck::Unverifiable => {
                self.unverifiable.push(event_id);
                false
            }
            RecordCheck::Mismatch(computed) => {
                self.first_mismatch = Some(Mismatch {
                    event_id,
                    stored: record.hash,
                    computed,
                });
                true
            }
        }
    }
}

impl<S> EventDagExt for S
where
    S: DagStore + ?Sized,
    S::Payload: Serialize,
{
}
