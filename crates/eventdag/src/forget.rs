//! Forgetting on purpose (SPEC §10): redaction, retention and tenant
//! erasure, the operations every backend provides beside [`DagStore`].

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::{DagStore, Effect, ErrorEffect, Event, EventHash, EventId, EventKind, TenantId};

/// The longest redaction reason accepted, in bytes.
pub const MAX_REDACTION_REASON_BYTES: usize = 1000;

/// The most retention rules one tenant's policy may hold.
pub const MAX_RETENTION_RULES: usize = 100;

/// The mark a redacted event carries instead of its payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Redaction {
    /// Why the payload was removed, as the redacting caller said.
    pub reason: String,
    /// When, µs since the Unix epoch (the store's clock).
    pub redacted_at: u64,
    /// BLAKE3 of the payload bytes that were removed. A version-2 event
    /// hash covers it, so the event stays verifiable without the bytes.
    pub payload_hash: EventHash,
}

impl Redaction {
    /// The payload value a read returns for a redacted event: `P` decoded
    /// from JSON `null` (`serde_json::Value::Null`, `RawJson` `null`,
    /// `None` for an `Option`).
    ///
    /// # Errors
    /// Invalid input naming the event when `P` cannot represent a missing
    /// payload; such payload types should be wrapped in `Option`.
    pub fn empty_payload<P: DeserializeOwned>(event_id: EventId) -> Result<P, ErrorEffect> {
        serde_json::from_str("null").map_err(|err| {
            ErrorEffect::invalid(
                "payload",
                format!(
                    "event {event_id} is redacted and this payload type cannot represent a \
                     missing payload ({err}); read it with a payload type that accepts null, \
                     such as Option<T> or serde_json::Value"
                ),
            )
        })
    }
}

/// Checks a redaction reason: 1 to [`MAX_REDACTION_REASON_BYTES`] bytes,
/// no control characters.
///
/// # Errors
/// Invalid input saying what is accepted.
pub fn check_redaction_reason(reason: &str) -> Result<(), ErrorEffect> {
    if reason.trim().is_empty() {
        return Err(ErrorEffect::invalid(
            "reason",
            "a redaction needs a reason: 1 to 1000 bytes of text",
        ));
    }
    if reason.len() > MAX_REDACTION_REASON_BYTES {
        return Err(ErrorEffect::invalid(
            "reason",
            format!(
                "reason of {} bytes is too long: accepted at most {MAX_REDACTION_REASON_BYTES}",
                reason.len()
            ),
        ));
    }
    if reason.chars().any(char::is_control) {
        return Err(ErrorEffect::invalid(
            "reason",
            "reason contains a control character: accepted printable text",
        ));
    }
    Ok(())
}

/// One rule of a retention policy: chains whose root has `kind` (any
/// kind when `None`) are removed once all their events are older than
/// `max_age_seconds` and none waits for acknowledgment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionRule {
    /// The root kind this rule applies to; `None` for every kind.
    #[serde(default)]
    pub kind: Option<EventKind>,
    /// How old, in seconds, the newest event of a chain must be.
    pub max_age_seconds: u64,
}

/// A tenant's retention policy: the first rule whose kind matches a
/// chain's root decides; a chain no rule matches is kept.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionPolicy {
    /// The rules, in the order they are tried.
    pub rules: Vec<RetentionRule>,
}

impl RetentionPolicy {
    /// The rule deciding a chain whose root has `kind`.
    #[must_use]
    pub fn rule_for(&self, kind: EventKind) -> Option<&RetentionRule> {
        self.rules
            .iter()
            .find(|rule| rule.kind.is_none_or(|k| k == kind))
    }

    /// Checks the policy: 1 to [`MAX_RETENTION_RULES`] rules, each with a
    /// positive age.
    ///
    /// # Errors
    /// Invalid input naming the rule.
    pub fn check(&self) -> Result<(), ErrorEffect> {
        if self.rules.is_empty() || self.rules.len() > MAX_RETENTION_RULES {
            return Err(ErrorEffect::invalid(
                "rules",
                format!(
                    "a policy has {} rules: accepted 1 to {MAX_RETENTION_RULES} (to keep everything, \
                     remove the policy)",
                    self.rules.len()
                ),
            ));
        }
        for (index, rule) in self.rules.iter().enumerate() {
            if rule.max_age_seconds == 0 {
                return Err(ErrorEffect::invalid(
                    format!("rules[{index}].max_age_seconds"),
                    "age 0 would remove chains as they are written: accepted at least 1 second",
                ));
            }
            if rule.max_age_seconds > u64::MAX / 1_000_000 {
                return Err(ErrorEffect::invalid(
                    format!("rules[{index}].max_age_seconds"),
                    format!("accepted at most {} seconds", u64::MAX / 1_000_000),
                ));
            }
        }
        Ok(())
    }
}

/// Why a chain was not removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum KeptReason {
    /// An event of another chain names one of this chain's events as a
    /// parent (**Choice**: the chain is kept whole rather than its parent
    /// redacted).
    Dependent {
        /// The outside event.
        child: EventId,
        /// The event of this chain it names as a parent.
        parent: EventId,
    },
    /// An event is not older than the limit.
    TooYoung {
        /// The youngest such event found.
        event_id: EventId,
    },
    /// An event requires acknowledgment and has none yet.
    Unacknowledged {
        /// The waiting event.
        event_id: EventId,
    },
    /// The chain has no events (already removed, or never written).
    Empty,
}

/// What [`Forgetting::remove_chain`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ChainRemoval {
    /// The chain's events, their signals, queue state and chain state are
    /// gone.
    Removed {
        /// How many events were removed.
        events: usize,
    },
    /// Nothing was removed.
    Kept {
        /// Why.
        #[serde(flatten)]
        reason: KeptReason,
    },
}

/// What [`Forgetting::erase_tenant`] removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TenantErasure {
    /// Events removed.
    pub events: u64,
    /// API keys removed.
    pub api_keys: u64,
    /// Whether the tenant's registry entry existed and was removed.
    pub registered: bool,
}

/// Forgetting on purpose (SPEC §10), beside [`DagStore`]. Every call is
/// one write transaction of the store, recorded durably like an append.
/// Who may call it is the caller's business: the server lets a tenant's
/// key holder redact and set retention for that tenant, and only the
/// administrator erase a tenant (docs/forgetting.md).
#[async_trait]
pub trait Forgetting: DagStore {
    /// Removes the payload of `event_id` from every place the store keeps
    /// it and marks the event redacted; header, parents and hash stay.
    /// Answers the event as a read now returns it. Redacting a redacted
    /// event changes nothing and answers the first mark. Another tenant's
    /// event is not found; an empty or oversized reason is invalid input.
    async fn redact(
        &self,
        tenant_id: TenantId,
        event_id: EventId,
        reason: String,
    ) -> Effect<Event<Self::Payload>>;

    /// Removes a whole correlation chain of `tenant_id` — its events,
    /// their signals and queue state, and the chain's state — when,
    /// checked inside the write: every event's timestamp is below
    /// `older_than` (µs), no event waits for acknowledgment, and no event
    /// outside the chain names one of its events as a parent. Otherwise
    /// nothing changes and the answer says why ([`ChainRemoval::Kept`]).
    /// Lane counters stay: a removed position is never handed out again.
    async fn remove_chain(
        &self,
        tenant_id: TenantId,
        correlation_id: EventId,
        older_than: u64,
    ) -> Effect<ChainRemoval>;

    /// Removes every event, signal, chain state, queue entry, retention
    /// policy, API key and the registry entry of `tenant_id`. Idempotent.
    async fn erase_tenant(&self, tenant_id: TenantId) -> Effect<TenantErasure>;

    /// Sets (`Some`, checked by [`RetentionPolicy::check`]) or removes
    /// (`None`) the tenant's retention policy.
    async fn set_retention_policy(
        &self,
        tenant_id: TenantId,
        policy: Option<RetentionPolicy>,
    ) -> Effect<()>;

    /// Every tenant's retention policy, by tenant id.
    async fn retention_policies(&self) -> Effect<Vec<(TenantId, RetentionPolicy)>>;
}

/// What the removal check needs of one event of the chain.
#[derive(Debug, Clone, Copy)]
pub struct RemovalFacts {
    /// The event.
    pub event_id: EventId,
    /// Its timestamp, µs.
    pub timestamp: u64,
    /// Whether it waits for acknowledgment.
    pub waiting_for_ack: bool,
}

/// The removal rule, for backends to run inside their write transaction:
/// `Ok` when the chain may go, the first reason it may not otherwise.
/// `outside_child` is a child of a chain event that belongs to another
/// chain, with that parent, if the backend found one.
///
/// # Errors
/// The reason the chain is kept.
pub fn check_removal(
    events: &[RemovalFacts],
    outside_child: Option<(EventId, EventId)>,
    older_than: u64,
) -> Result<(), KeptReason> {
    if events.is_empty() {
        return Err(KeptReason::Empty);
    }
    if let Some(young) = events
        .iter()
        .filter(|e| e.timestamp >= older_than)
        .max_by_key(|e| e.timestamp)
    {
        return Err(KeptReason::TooYoung {
            event_id: young.event_id,
        });
    }
    if let Some(waiting) = events.iter().find(|e| e.waiting_for_ack) {
        return Err(KeptReason::Unacknowledged {
            event_id: waiting.event_id,
        });
    }
    if let Some((child, parent)) = outside_child {
        return Err(KeptReason::Dependent { child, parent });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(timestamp: u64, waiting_for_ack: bool) -> RemovalFacts {
        RemovalFacts {
            event_id: crate::new_event_id(),
            timestamp,
            waiting_for_ack,
        }
    }

    #[test]
    fn removal_needs_old_acknowledged_events_and_no_outside_child() {
        let old = facts(10, false);
        assert_eq!(check_removal(&[old], None, 11), Ok(()));
        assert_eq!(check_removal(&[], None, 11), Err(KeptReason::Empty));
        let young = facts(11, false);
        assert_eq!(
            check_removal(&[old, young], None, 11),
            Err(KeptReason::TooYoung {
                event_id: young.event_id
            })
        );
        let waiting = facts(1, true);
        assert_eq!(
            check_removal(&[old, waiting], None, 11),
            Err(KeptReason::Unacknowledged {
                event_id: waiting.event_id
            })
        );
        let child = crate::new_event_id();
        assert_eq!(
            check_removal(&[old], Some((child, old.event_id)), 11),
            Err(KeptReason::Dependent {
                child,
                parent: old.event_id
            })
        );
    }

    #[test]
    fn first_matching_rule_decides_and_bad_policies_are_refused() {
        let policy = RetentionPolicy {
            rules: vec![
                RetentionRule {
                    kind: Some(EventKind(7)),
                    max_age_seconds: 60,
                },
                RetentionRule {
                    kind: None,
                    max_age_seconds: 3600,
                },
            ],
        };
        assert_eq!(policy.check(), Ok(()));
        assert_eq!(
            policy.rule_for(EventKind(7)).map(|r| r.max_age_seconds),
            Some(60)
        );
        assert_eq!(
            policy.rule_for(EventKind(8)).map(|r| r.max_age_seconds),
            Some(3600)
        );
        assert!(RetentionPolicy::default().check().is_err());
        let zero = RetentionPolicy {
            rules: vec![RetentionRule {
                kind: None,
                max_age_seconds: 0,
            }],
        };
        let err = zero.check().unwrap_err().to_string();
        assert!(err.contains("rules[0].max_age_seconds"), "{err}");
    }

    #[test]
    fn reasons_are_checked() {
        assert!(check_redaction_reason("GDPR request 42").is_ok());
        assert!(check_redaction_reason("  ").is_err());
        assert!(check_redaction_reason(&"x".repeat(1001)).is_err());
        assert!(check_redaction_reason("a\u{0}b").is_err());
    }

    #[test]
    fn empty_payload_decodes_null_or_says_why_not() {
        let id = crate::new_event_id();
        assert_eq!(
            Redaction::empty_payload::<serde_json::Value>(id),
            Ok(serde_json::Value::Null)
        );
        assert_eq!(Redaction::empty_payload::<Option<u32>>(id), Ok(None));
        let err = Redaction::empty_payload::<u32>(id).unwrap_err().to_string();
        assert!(err.contains("Option<T>"), "{err}");
    }
}
