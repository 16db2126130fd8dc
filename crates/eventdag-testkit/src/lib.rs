//! The EventDag conformance suite: one set of cases, generic over
//! [`eventdag::DagStore`], that every backend runs unchanged through
//! [`conformance_suite!`]. A backend is done when it passes all of them.
//!
//! ```
//! use eventdag::{EventId, MemoryDag};
//! use serde_json::Value;
//!
//! async fn fresh() -> (MemoryDag<Value>, ()) {
//!     (MemoryDag::new(), ())
//! }
//!
//! async fn corrupt(store: &MemoryDag<Value>, id: EventId) {
//!     store.simulate_corruption(id, b"{\"tampered\":true}".to_vec());
//! }
//!
//! eventdag_testkit::conformance_suite!(fresh, corrupt);
//! # fn main() {}
//! ```
//!
//! Test code: panics are how a case fails.
#![forbid(unsafe_code)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

pub mod cases;
pub mod exact;
pub mod model;
pub mod queue_kill;
pub mod support;

/// Re-exported for [`exact_payload_suite!`].
pub use proptest;

/// Generates one `#[tokio::test]` per conformance case, plus the
/// concurrency race, the corruption case and the model-based property test.
///
/// `$factory`: `async fn() -> (S, G)` giving a fresh, empty store and a
/// guard dropped after the test (a temp dir, a scratch database…).
/// `$corrupt`: `async fn(&S, EventId)` changing an event's stored payload
/// bytes behind the store's back.
#[macro_export]
macro_rules! conformance_suite {
    ($factory:path, $corrupt:path) => {
        $crate::conformance_suite!(@cases $factory;
            append::append_root_then_read_returns_it,
            append::append_assigns_v7_id_when_nil,
            append::append_fills_zero_timestamp_with_now,
            append::root_correlation_defaults_to_own_id,
            append::child_inherits_first_parents_correlation,
            append::explicit_correlation_id_is_kept,
            append::read_unknown_is_not_found,
            append::append_rejects_missing_parent,
            append::append_rejects_parent_of_other_tenant,
            append::append_rejects_root_with_depth,
            append::append_rejects_child_with_wrong_depth,
            append::merge_depth_is_one_plus_deepest_parent,
            append::append_rejects_taken_sequence,
            append::append_rejects_sequence_gap,
            append::append_rejects_non_v7_id,
            append::append_rejects_oversized_payload,
            append::append_rejects_reserved_flag,
            append::append_rejects_repeated_parent,
            append::append_refuses_store_managed_flags,
            append::append_refuses_non_v7_correlation_id,
            reappend::reappend_identical_is_idempotent,
            reappend::reappend_after_ack_is_still_idempotent,
            reappend::reappend_with_other_payload_conflicts,
            reappend::reappend_with_other_header_conflicts,
            reappend::reappend_compares_given_timestamp_and_correlation,
            reappend::reappend_under_another_tenant_is_not_found,
            reappend::appends_return_what_is_stored,
            positions::sequences_are_per_tenant_and_lane,
            positions::next_position_follows_parent_and_reserves_nothing,
            positions::next_position_unknown_or_foreign_parent_not_found,
            assigned::append_assigned_takes_depth_and_next_sequence,
            assigned::append_assigned_reappend_is_idempotent,
            assigned::append_assigned_validates_like_append,
            walks::ancestors_of_a_line_run_tip_to_root,
            walks::ancestors_of_a_diamond_each_once,
            walks::ancestors_of_a_fan_in_order_by_lane_then_sequence,
            walks::ancestors_limit_smaller_than_graph,
            walks::ancestors_limit_zero_is_empty,
            walks::ancestors_of_unknown_is_not_found,
            walks::descendants_of_a_diamond_each_once,
            walks::descendants_limit_and_zero,
            walks::descendants_of_leaf_and_unknown,
            walks::huge_limit_is_capped,
            tenants::tenants_are_created_once_and_listed,
            tenants::api_keys_are_stored_found_and_revoked,
            queries::correlation_chain_in_topological_order,
            queries::correlation_chain_unknown_is_empty,
            queries::correlation_chain_is_tenant_isolated,
            queries::find_by_kind_filters_kind_and_depth,
            queries::find_by_kind_limit_and_zero,
            queries::find_by_kind_for_tenant_is_isolated,
            queries::acknowledge_sets_flag_and_dequeues,
            queries::acknowledge_is_idempotent,
            queries::acknowledge_unknown_is_not_found,
            queries::unacknowledged_oldest_first_with_limit,
            queries::unacknowledged_for_tenant_is_isolated,
            queries::ack_upstream_reaches_every_ancestor,
            queries::ack_without_upstream_sends_nothing,
            signals::signal_from_unknown_is_not_found,
            signals::signal_delivered_to_every_ancestor_once,
            signals::signal_from_root_is_stored_with_no_recipients,
            signals::cancel_refuses_later_appends,
            signals::cancel_is_tenant_scoped,
            signals::backpressure_retries_until_time_passes,
            signals::backpressure_holds_only_its_chain,
            signals::compensation_complete_sets_flag,
            signals::compensation_of_unknown_event_is_not_found,
            signals::signals_after_resumes_from_sequence,
            batch::batch_appends_all_with_parents_inside,
            batch::batch_with_a_bad_event_stores_nothing,
            batch::events_after_resumes_in_commit_order,
            batch::verify_intact_event_and_chain,
            batch::append_new_is_idempotent_with_client_id,
            batch::fork_and_merge_conveniences,
            batch::append_new_batch_places_drafts,
            batch::append_assigned_batch_assigns_every_position,
            batch::append_new_refusals_name_the_new_event,
        );

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn conformance_concurrent_appends_to_one_lane() {
            let (store, guard) = $factory().await;
            $crate::cases::concurrency::concurrent_appends_to_one_lane(::std::sync::Arc::new(store)).await;
            drop(guard);
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn conformance_concurrent_assigned_appends_never_conflict() {
            let (store, guard) = $factory().await;
            $crate::cases::concurrency::concurrent_assigned_appends_never_conflict(::std::sync::Arc::new(store)).await;
            drop(guard);
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn conformance_concurrent_assigned_batches_never_conflict() {
            let (store, guard) = $factory().await;
            $crate::cases::concurrency::concurrent_assigned_batches_never_conflict(::std::sync::Arc::new(store)).await;
            drop(guard);
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn conformance_verify_reports_first_corrupted_event() {
            let (store, guard) = $factory().await;
            $crate::cases::batch::verify_reports_first_corrupted_event(&store, |store, id| Box::pin($corrupt(store, id))).await;
            drop(guard);
        }

        #[test]
        fn conformance_model_based_random_operations() {
            let runtime = ::tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("tokio runtime");
            $crate::model::check_against_model(&runtime, $crate::model::cases_from_env(48), $factory);
        }
    };
    (@cases $factory:path; $($module:ident :: $case:ident,)+) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let (store, guard) = $factory().await;
                $crate::cases::$module::$case(&store).await;
                drop(guard);
            }
        )+
    };
}

/// Generates one `#[tokio::test]` per work-queue case (SPEC §9), for a
/// store that also implements [`eventdag::WorkQueue`]. The two races
/// take their stores from `$race_factory` (which may choose a faster,
/// less durable setting: they test exclusivity, not durability), and
/// `$race_events` is how many events the competing-consumers race uses
/// ([`cases::queue::RACE_EVENTS`] unless a backend says why not).
#[macro_export]
macro_rules! queue_suite {
    ($factory:path, $race_factory:path, $race_events:expr) => {
        $crate::conformance_suite!(@cases $factory;
            queue::claim_leases_oldest_first_once,
            queue::claim_filters_and_refusals,
            queue::expired_lease_is_redelivered,
            queue::extended_lease_outlives_first_deadline,
            queue::release_now_or_after_delay,
            queue::leased_ack_ends_the_lease,
            queue::dead_letter_after_attempts_then_requeue,
            queue::queue_calls_are_tenant_scoped,
        );

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn queue_competing_consumers_ack_each_once() {
            let (store, guard) = $race_factory().await;
            let started = ::std::time::Instant::now();
            $crate::cases::queue::competing_consumers_ack_each_once(::std::sync::Arc::new(store), $race_events).await;
            eprintln!("{} events, {} consumers: {:?}", $race_events, $crate::cases::queue::CONSUMERS, started.elapsed());
            drop(guard);
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn queue_abandoned_work_is_redelivered_without_overlap() {
            let (store, guard) = $race_factory().await;
            $crate::cases::queue::abandoned_work_is_redelivered_without_overlap(::std::sync::Arc::new(store)).await;
            drop(guard);
        }
    };
}

/// Generates one `#[tokio::test]` per forgetting case (SPEC §10), for a
/// store that also implements [`eventdag::Forgetting`]. `$corrupt` is the
/// same as [`conformance_suite!`]'s.
#[macro_export]
macro_rules! forgetting_suite {
    ($factory:path, $corrupt:path) => {
        $crate::conformance_suite!(@cases $factory;
            forget::redacted_event_reads_without_payload_with_mark,
            forget::walks_chains_and_logs_carry_on_through_redaction,
            forget::verify_reports_redacted_events_intact,
            forget::redaction_is_idempotent_and_checked,
            forget::reappend_after_redaction_stays_redacted,
            forget::retention_plans_then_removes_whole_chains,
            forget::retention_policies_are_stored_per_tenant,
            forget::erase_tenant_removes_everything_of_it,
        );

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn forget_verify_finds_tampering_beside_redaction() {
            let (store, guard) = $factory().await;
            $crate::cases::forget::verify_finds_tampering_beside_redaction(&store, |store, id| Box::pin($corrupt(store, id))).await;
            drop(guard);
        }
    };
}
