//! Forgetting on the server (SPEC §10): redaction, retention runs (on
//! request and in the background) with their optional archive, chain
//! removal and tenant erasure, each scoped as the routes document.
//!
//! A retention run is [`eventdag::retention::plan_retention`] then
//! [`eventdag::retention::apply_retention`], the one implementation every
//! backend shares: each planned chain is removed by
//! `Forgetting::remove_chain`, which checks the rule again inside its
//! write, so two runs at once (the background task and a request, or two
//! nodes) never half-remove a chain: the second finds it gone (`empty`).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use eventdag::retention::{apply_retention, plan_retention, RetentionPlan, RetentionReport};
use eventdag::{
    now_micros, ChainRemoval, ErrorEffect, Event, EventId, RawJson, RetentionPolicy, TenantErasure,
    TenantId,
};
use serde::Serialize;
use tokio::sync::watch;

use crate::store_ops::served;
use crate::{ApiError, AppState, ServerStore};

/// The answer of a retention run: the plan, and for a real run what it
/// did and where the removed events were archived.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RunAnswer {
    /// Whether nothing was removed on purpose.
    pub(crate) dry_run: bool,
    /// What the policy removes now, and the old chains it keeps.
    pub(crate) plan: RetentionPlan,
    /// What the run removed (`None` for a dry run).
    pub(crate) report: Option<RetentionReport>,
    /// The archive file written, if any event was archived.
    pub(crate) archive: Option<PathBuf>,
}

/// Who started a run, for `/metrics`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Trigger {
    /// The periodic task (`retention_interval`).
    Background,
    /// `POST /v1/retention/run`.
    Request,
}

impl Trigger {
    fn label(self) -> &'static str {
        match self {
            Self::Background => "background",
            Self::Request => "request",
        }
    }
}

/// Writes removed events as JSON lines into one file, created on the
/// first chain (a run that removes nothing leaves no file). Each chain is
/// written and synced before `remove_chain` is called for it, so an event
/// is never removed without its line on disk.
pub struct RetentionArchive {
    path: PathBuf,
    file: Option<File>,
}

impl RetentionArchive {
    /// An archive for one run of `tenant` in `dir`: `<tenant>-<µs>.jsonl`.
    #[must_use]
    pub fn in_dir(dir: &Path, tenant: TenantId) -> Self {
        Self::at(dir.join(format!("{tenant}-{}.jsonl", now_micros())))
    }

    /// An archive at `path` (appended to when it exists).
    #[must_use]
    pub fn at(path: PathBuf) -> Self {
        Self { path, file: None }
    }

    /// The file, if anything was written.
    #[must_use]
    pub fn written(&self) -> Option<&Path> {
        self.file.as_ref().map(|_| self.path.as_path())
    }

    /// Appends `events`, one JSON line each, and syncs the file.
    ///
    /// # Errors
    /// Storage unavailable naming the file, when it cannot be written:
    /// the run then stops before the chain is removed.
    pub fn write(&mut self, events: &[Event<RawJson>]) -> Result<(), ErrorEffect> {
        let failed = |path: &Path, error: std::io::Error| {
            ErrorEffect::unavailable(
                "retention_archive",
                format!("cannot write the archive {}: {error}", path.display()),
            )
        };
        if self.file.is_none() {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
                .map_err(|error| failed(&self.path, error))?;
            self.file = Some(file);
        }
        let Some(file) = self.file.as_mut() else {
            return Ok(());
        };
        let mut lines = Vec::new();
        for event in events {
            // An event always encodes: its payload is JSON text already.
            serde_json::to_writer(&mut lines, event)
                .map_err(|error| ErrorEffect::corrupt(Some(event.id()), error))?;
            lines.push(b'\n');
        }
        file.write_all(&lines)
            .and_then(|()| file.sync_data())
            .map_err(|error| failed(&self.path, error))
    }
}

impl<S: ServerStore> AppState<S> {
    /// The retention policy of `tenant`, if it has one.
    pub(crate) async fn retention_policy(
        &self,
        tenant: TenantId,
    ) -> Result<Option<RetentionPolicy>, ApiError> {
        let policies = self
            .timed("retention_policies", self.store().retention_policies())
            .await?;
        Ok(policies
            .into_iter()
            .find(|(id, _)| *id == tenant)
            .map(|(_, policy)| policy))
    }

    /// Sets or removes the policy of `tenant`.
    pub(crate) async fn set_retention_policy(
        &self,
        tenant: TenantId,
        policy: Option<RetentionPolicy>,
    ) -> Result<(), ApiError> {
        self.timed(
            "set_retention_policy",
            self.store().set_retention_policy(tenant, policy),
        )
        .await
    }

    /// Redacts an event of `tenant` (another tenant's is not found: the
    /// store checks the tenant inside its write).
    pub(crate) async fn redact(
        &self,
        tenant: TenantId,
        id: EventId,
        reason: String,
    ) -> Result<Event<RawJson>, ApiError> {
        self.timed("redact", self.store().redact(tenant, id, reason))
            .await
            .map(served)
    }

    /// Removes one chain of `tenant` if the removal rule allows it.
    pub(crate) async fn remove_chain(
        &self,
        tenant: TenantId,
        correlation_id: EventId,
        older_than: u64,
    ) -> Result<ChainRemoval, ApiError> {
        self.timed(
            "remove_chain",
            self.store()
                .remove_chain(tenant, correlation_id, older_than),
        )
        .await
    }

    /// Erases `tenant`: its events, signals, queue state, policy, keys and
    /// registry entry. Its keys stop working at once (the key cache drops
    /// them).
    pub(crate) async fn erase_tenant(&self, tenant: TenantId) -> Result<TenantErasure, ApiError> {
        let erased = self
            .timed("erase_tenant", self.store().erase_tenant(tenant))
            .await;
        // Whatever the outcome, a key of this tenant must not outlive the
        // store's record of it in the cache.
        self.inner.keys.forget_tenant(tenant);
        erased
    }

    /// Plans `policy` for `tenant` now and, unless `dry_run`, removes what
    /// the plan lists, archiving each chain first when
    /// `retention_archive_dir` is set.
    pub(crate) async fn run_retention(
        &self,
        tenant: TenantId,
        policy: &RetentionPolicy,
        dry_run: bool,
        trigger: Trigger,
    ) -> Result<RunAnswer, ApiError> {
        let outcome = self.run_retention_inner(tenant, policy, dry_run).await;
        if !dry_run {
            let removed = outcome.as_ref().ok().and_then(|answer| {
                answer
                    .report
                    .as_ref()
                    .map(|report| (report.removed_chains, report.removed_events))
            });
            self.inner.metrics.retention_run(trigger.label(), removed);
        }
        outcome
    }

    async fn run_retention_inner(
        &self,
        tenant: TenantId,
        policy: &RetentionPolicy,
        dry_run: bool,
    ) -> Result<RunAnswer, ApiError> {
        let store = self.store().as_ref();
        let plan = self
            .timed(
                "plan_retention",
                plan_retention(store, tenant, policy, now_micros()),
            )
            .await?;
        if dry_run {
            return Ok(RunAnswer {
                dry_run,
                plan,
                report: None,
                archive: None,
            });
        }
        let mut archive = self
            .config()
            .retention_archive_dir
            .as_deref()
            .map(|dir| RetentionArchive::in_dir(dir, tenant));
        let report = match archive.as_mut() {
            Some(archive) => {
                let mut write = |events: &[Event<RawJson>]| archive.write(events);
                self.timed(
                    "apply_retention",
                    apply_retention(store, &plan, Some(&mut write)),
                )
                .await?
            }
            None => {
                self.timed("apply_retention", apply_retention(store, &plan, None))
                    .await?
            }
        };
        Ok(RunAnswer {
            dry_run,
            plan,
            report: Some(report),
            archive: archive.and_then(|a| a.written().map(Path::to_path_buf)),
        })
    }

    /// One background pass: every tenant's policy, planned and applied.
    /// A failing tenant is logged and counted; the others still run.
    pub(crate) async fn retention_pass(&self) {
        let policies = match self
            .timed("retention_policies", self.store().retention_policies())
            .await
        {
            Ok(policies) => policies,
            Err(error) => {
                tracing::warn!(%error, "retention: cannot list the policies");
                return;
            }
        };
        for (tenant, policy) in policies {
            match self
                .run_retention(tenant, &policy, false, Trigger::Background)
                .await
            {
                Ok(answer) => {
                    if let Some(report) = &answer.report {
                        tracing::info!(
                            %tenant,
                            removed_chains = report.removed_chains,
                            removed_events = report.removed_events,
                            kept = report.kept.len(),
                            archive = ?answer.archive,
                            "retention run"
                        );
                    }
                }
                Err(error) => tracing::warn!(%tenant, %error, "retention run failed"),
            }
        }
    }
}

/// Runs [`AppState::retention_pass`] every `retention_interval` (not at
/// start: a restart loop must not turn into a removal loop) until
/// `shutdown` turns true. Returns at once when the interval is 0.
pub(crate) async fn run_periodically<S: ServerStore>(
    state: AppState<S>,
    mut shutdown: watch::Receiver<bool>,
) {
    let interval = state.config().retention_interval;
    if interval.is_zero() {
        return;
    }
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    // A pass longer than the interval delays the next one instead of
    // starting passes back to back.
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let stopping = tokio::select! {
            _ = ticks.tick() => false,
            // Stopping, or the state is gone. The guard `wait_for` answers
            // is dropped here, before any await: the task stays `Send`.
            _ = shutdown.wait_for(|stopping| *stopping) => true,
        };
        if stopping {
            return;
        }
        state.retention_pass().await;
    }
}

/// The longest background interval accepted (a year): beyond, timers
/// overflow on some platforms.
pub(crate) const MAX_RETENTION_INTERVAL: Duration = Duration::from_secs(366 * 86_400);
