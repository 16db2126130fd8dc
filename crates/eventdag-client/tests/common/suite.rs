//! The conformance suite of eventdag-testkit through `RemoteDag`: every
//! case the HTTP API can express, one `#[tokio::test]` each, through the
//! testkit's own `@cases` arm (so each case runs exactly as for the
//! embedded stores), plus the concurrency races and the corruption case.
//!
//! Not run, each for a reason of the HTTP API (docs/client.md lists them
//! too):
//!
//! | case | why it cannot be expressed over HTTP |
//! | --- | --- |
//! | `tenants::tenants_are_created_once_and_listed`, `tenants::api_keys_are_stored_found_and_revoked` | the tenant registry has no HTTP routes (tenants and keys are managed with `eventdag tenant`/`key` on the store itself) |
//! | `append::append_rejects_parent_of_other_tenant`, `assigned::append_assigned_validates_like_append`, `batch::append_new_refusals_name_the_new_event` | they expect `TenantMismatch` for another tenant's parent; the server answers it exactly like a missing parent (`ParentNotFound`, 404) so that existence does not leak across tenants (SPEC §7) |
//! | `append::append_root_then_read_returns_it`, `queries::unacknowledged_oldest_first_with_limit`, `reappend::reappend_compares_given_timestamp_and_correlation`, `reappend::reappend_under_another_tenant_is_not_found`, `conformance_model_based_random_operations` | they append with a caller-given timestamp; `POST /v1/events` has no `timestamp` field (SPEC §7), so the client refuses such an append with `InvalidInput { field: "timestamp" }` rather than store another time |
//! | `batch::events_after_resumes_in_commit_order`, `signals::signals_after_resumes_from_sequence` | `events_after`/`signals_after` have no request route (only the live streams, tested in `streams.rs`); the adapter answers them from the store behind the server, so these cases would test that store, not the client |
/// The forgetting cases through `RemoteDag` (redaction, policies, chain
/// removal through retention). Not run:
///
/// | case | why |
/// | --- | --- |
/// | `forget::erase_tenant_removes_everything_of_it` | after the erasure the tenant's key is gone, as it must be, so the case's follow-up reads of that tenant (`next_position_for_tenant`) cannot be made over HTTP; `erase_tenant_over_http` in `conformance_lmdb.rs` covers erasure through the client |
///
/// The retention case appends its old chains with caller-given
/// timestamps, which HTTP cannot carry: the adapter writes those drafts
/// into the store behind the server, and the case's subject (planning on
/// the store's log, removal and archive through the client) runs as for
/// the stores.
#[macro_export]
macro_rules! remote_forgetting_suite {
    ($factory:path, $corrupt:path) => {
        eventdag_testkit::conformance_suite!(@cases $factory;
            forget::redacted_event_reads_without_payload_with_mark,
            forget::walks_chains_and_logs_carry_on_through_redaction,
            forget::verify_reports_redacted_events_intact,
            forget::redaction_is_idempotent_and_checked,
            forget::reappend_after_redaction_stays_redacted,
            forget::retention_plans_then_removes_whole_chains,
            forget::retention_policies_are_stored_per_tenant,
        );

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn forget_verify_finds_tampering_beside_redaction() {
            let (store, guard) = $factory().await;
            eventdag_testkit::cases::forget::verify_finds_tampering_beside_redaction(&store, |store, id| Box::pin($corrupt(store, id))).await;
            drop(guard);
        }
    };
}

#[macro_export]
macro_rules! remote_suite {
    ($factory:path, $corrupt:path) => {
        eventdag_testkit::conformance_suite!(@cases $factory;
            append::append_assigns_v7_id_when_nil,
            append::append_fills_zero_timestamp_with_now,
            append::root_correlation_defaults_to_own_id,
            append::child_inherits_first_parents_correlation,
            append::explicit_correlation_id_is_kept,
            append::read_unknown_is_not_found,
            append::append_rejects_missing_parent,
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
            reappend::appends_return_what_is_stored,
            positions::sequences_are_per_tenant_and_lane,
            positions::next_position_follows_parent_and_reserves_nothing,
            positions::next_position_unknown_or_foreign_parent_not_found,
            assigned::append_assigned_takes_depth_and_next_sequence,
            assigned::append_assigned_reappend_is_idempotent,
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
            queries::correlation_chain_in_topological_order,
            queries::correlation_chain_unknown_is_empty,
            queries::correlation_chain_is_tenant_isolated,
            queries::find_by_kind_filters_kind_and_depth,
            queries::find_by_kind_limit_and_zero,
            queries::find_by_kind_for_tenant_is_isolated,
            queries::acknowledge_sets_flag_and_dequeues,
            queries::acknowledge_is_idempotent,
            queries::acknowledge_unknown_is_not_found,
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
            batch::batch_appends_all_with_parents_inside,
            batch::batch_with_a_bad_event_stores_nothing,
            batch::verify_intact_event_and_chain,
            batch::append_new_is_idempotent_with_client_id,
            batch::fork_and_merge_conveniences,
            batch::append_new_batch_places_drafts,
            batch::append_assigned_batch_assigns_every_position,
        );

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn conformance_concurrent_appends_to_one_lane() {
            let (store, guard) = $factory().await;
            eventdag_testkit::cases::concurrency::concurrent_appends_to_one_lane(::std::sync::Arc::new(store)).await;
            drop(guard);
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn conformance_concurrent_assigned_appends_never_conflict() {
            let (store, guard) = $factory().await;
            eventdag_testkit::cases::concurrency::concurrent_assigned_appends_never_conflict(::std::sync::Arc::new(store)).await;
            drop(guard);
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn conformance_concurrent_assigned_batches_never_conflict() {
            let (store, guard) = $factory().await;
            eventdag_testkit::cases::concurrency::concurrent_assigned_batches_never_conflict(::std::sync::Arc::new(store)).await;
            drop(guard);
        }

        /// The server's bytes are changed behind its back; verification
        /// through the client (which hashes what the server sends) finds
        /// the first changed event.
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn conformance_verify_reports_first_corrupted_event() {
            let (store, guard) = $factory().await;
            eventdag_testkit::cases::batch::verify_reports_first_corrupted_event(&store, |store, id| Box::pin($corrupt(store, id))).await;
            drop(guard);
        }
    };
}
