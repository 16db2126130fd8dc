//! `GET /v1/chains`: the tenant's recent correlation chains, for the
//! explorer's landing view. Built on the tenant's commit-ordered log
//! (`DagStore::events_after`) and `DagStore::chain_state`; no store method
//! of its own.
//!
//! The listing reads the newest `chains_scan_events` entries of the log
//! (the window), groups them by correlation id and orders the chains by
//! their newest event, newest first. Counts are of the window: a chain is
//! `complete` when the window holds all of it as far as the log can tell
//! (the window starts at the beginning of the log, or holds the event
//! whose id is the correlation id, which every event of an ordinary chain
//! follows).

use std::collections::{BTreeSet, HashMap};

use axum::extract::State;
use axum::Json;
use eventdag::{now_micros, CursorEvent, EventId, EventKind, RawJson, TenantId, MAX_LIMIT};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::query::{Params, QueryParams};
use crate::{ApiError, AppState, ServerStore};

/// The most distinct kinds listed per chain.
const MAX_KINDS: usize = 16;

/// `?limit=N&kind=K&status=S`.
#[derive(Debug, Deserialize)]
pub(crate) struct ChainParams {
    #[serde(default, deserialize_with = "crate::query::saturating_limit")]
    limit: Option<usize>,
    kind: Option<EventKind>,
    status: Option<ChainStatus>,
}

impl Params for ChainParams {
    const NAMES: &'static [&'static str] = &["limit", "kind", "status"];
}

/// What a chain is doing now, the first that applies in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ChainStatus {
    /// A `Cancel` signal: appends are refused.
    Cancelled,
    /// A `Backpressure` signal whose `until` has not passed: appends are
    /// told to retry.
    Backpressure,
    /// Events flagged REQUIRES_ACK that are not acknowledged yet.
    WaitingForAcks,
    /// None of the above: open for appends, nothing waiting.
    Live,
}

/// One event of a chain, without its payload.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct EventRefDoc {
    /// The event.
    #[schema(schema_with = crate::api_schemas::uuid_schema)]
    id: EventId,
    /// Its kind, 0..=65535.
    #[schema(value_type = u16, minimum = 0, maximum = 65535)]
    kind: EventKind,
    /// µs since the Unix epoch.
    #[schema(schema_with = crate::api_schemas::u64_schema)]
    timestamp: u64,
    /// Its depth.
    #[schema(schema_with = crate::api_schemas::u32_schema)]
    depth: u32,
    /// Its lane.
    #[schema(schema_with = crate::api_schemas::u32_schema)]
    lane: u32,
}

/// A recent chain.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct ChainSummaryDoc {
    /// The chain.
    #[schema(schema_with = crate::api_schemas::uuid_schema)]
    correlation_id: EventId,
    /// Its events in the window (all of them when `complete`).
    events: usize,
    /// The deepest depth among them (0: roots only).
    #[schema(schema_with = crate::api_schemas::u32_schema)]
    max_depth: u32,
    /// How many distinct lanes they use.
    lanes: usize,
    /// Their distinct kinds, ascending; at most 16.
    kinds: Vec<u16>,
    /// Those flagged REQUIRES_ACK and not acknowledged.
    unacknowledged: usize,
    /// What the chain is doing now.
    status: ChainStatus,
    /// The reason of the `Cancel` signal, if cancelled.
    cancelled: Option<String>,
    /// Until when appends are held (µs), while under backpressure.
    #[schema(value_type = Option<u64>, minimum = 0)]
    backpressure_until: Option<u64>,
    /// Whether `events` counts the whole chain (see `GET /v1/chains`).
    complete: bool,
    /// Its oldest event in the window.
    first_event: EventRefDoc,
    /// Its newest event (the chains are ordered by it).
    last_event: EventRefDoc,
}

/// The answer of `GET /v1/chains`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct ChainListDoc {
    /// The chains, newest last event first; at most `limit`.
    chains: Vec<ChainSummaryDoc>,
    /// The last cursor read: `GET /v1/streams/events?after=` this misses
    /// nothing that came after the listing.
    #[schema(schema_with = crate::api_schemas::u64_schema)]
    cursor: u64,
    /// How many log entries were read (the window).
    scanned: usize,
    /// Whether the window reached back to the tenant's first event.
    complete: bool,
}

/// One chain as the window saw it.
struct Seen {
    correlation_id: EventId,
    events: usize,
    max_depth: u32,
    lanes: BTreeSet<u32>,
    kinds: BTreeSet<u16>,
    unacknowledged: usize,
    holds_root: bool,
    first: EventRefDoc,
    last: EventRefDoc,
    last_cursor: u64,
}

fn event_ref(event: &eventdag::Event<RawJson>) -> EventRefDoc {
    let position = event.position();
    EventRefDoc {
        id: event.id(),
        kind: event.header.event_kind,
        timestamp: event.header.timestamp,
        depth: position.depth,
        lane: position.lane,
    }
}

impl Seen {
    fn new(entry: &CursorEvent<RawJson>) -> Self {
        let event = &entry.event;
        Self {
            correlation_id: event.header.correlation_id,
            events: 0,
            max_depth: 0,
            lanes: BTreeSet::new(),
            kinds: BTreeSet::new(),
            unacknowledged: 0,
            holds_root: false,
            first: event_ref(event),
            last: event_ref(event),
            last_cursor: entry.cursor,
        }
    }

    fn add(&mut self, entry: &CursorEvent<RawJson>) {
        let event = &entry.event;
        let position = event.position();
        self.events += 1;
        self.max_depth = self.max_depth.max(position.depth);
        self.lanes.insert(position.lane);
        self.kinds.insert(event.header.event_kind.0);
        let flags = event.header.flags;
        if flags.awaits_ack() {
            self.unacknowledged += 1;
        }
        self.holds_root |= event.id() == self.correlation_id;
        self.last = event_ref(event);
        self.last_cursor = entry.cursor;
    }
}

/// `GET /v1/chains`: the tenant's recent chains.
#[utoipa::path(
    get, path = "/v1/chains", tag = "walks",
    params(
        ("limit" = Option<usize>, Query, description = "Most chains answered; default the server's `chains_default_limit` (20), capped at its max limit"),
        ("kind" = Option<u16>, Query, description = "Only chains with an event of this kind in the window"),
        ("status" = Option<ChainStatus>, Query, description = "Only chains in this status"),
    ),
    responses(
        (status = 200, description = "The chains among the newest `chains_scan_events` events of the tenant's log, newest first", body = ChainListDoc),
    )
)]
pub(crate) async fn recent<S: ServerStore>(
    State(state): State<AppState<S>>,
    caller: Caller,
    QueryParams(params): QueryParams<ChainParams>,
) -> Result<Json<ChainListDoc>, ApiError> {
    let config = state.config();
    let limit = params
        .limit
        .unwrap_or(config.chains_default_limit)
        .min(config.limit_cap());
    let tenant = caller.tenant_id;
    let end = log_end(&state, tenant).await?;
    let scan = config.chains_scan_events;
    let start = end.saturating_sub(u64::try_from(scan).unwrap_or(u64::MAX));
    let (entries, cursor) = window(&state, tenant, start, scan).await?;
    let scanned = entries.len();
    let whole_log = start == 0;

    let mut order: Vec<EventId> = Vec::new();
    let mut chains: HashMap<EventId, Seen> = HashMap::new();
    for entry in &entries {
        let correlation_id = entry.event.header.correlation_id;
        chains
            .entry(correlation_id)
            .or_insert_with(|| {
                order.push(correlation_id);
                Seen::new(entry)
            })
            .add(entry);
    }
    let mut seen: Vec<Seen> = order
        .into_iter()
        .filter_map(|id| chains.remove(&id))
        .filter(|chain| params.kind.is_none_or(|kind| chain.kinds.contains(&kind.0)))
        .collect();
    seen.sort_by_key(|chain| std::cmp::Reverse(chain.last_cursor));

    let now = now_micros();
    let mut listed = Vec::new();
    for chain in seen {
        if listed.len() >= limit {
            break;
        }
        let chain_state = state
            .timed(
                "chain_state",
                state.store().chain_state(tenant, chain.correlation_id),
            )
            .await?;
        let backpressure_until = chain_state.backpressure_until.filter(|until| *until > now);
        let status = if chain_state.cancelled.is_some() {
            ChainStatus::Cancelled
        } else if backpressure_until.is_some() {
            ChainStatus::Backpressure
        } else if chain.unacknowledged > 0 {
            ChainStatus::WaitingForAcks
        } else {
            ChainStatus::Live
        };
        if params.status.is_some_and(|wanted| wanted != status) {
            continue;
        }
        listed.push(ChainSummaryDoc {
            correlation_id: chain.correlation_id,
            events: chain.events,
            max_depth: chain.max_depth,
            lanes: chain.lanes.len(),
            kinds: chain.kinds.iter().copied().take(MAX_KINDS).collect(),
            unacknowledged: chain.unacknowledged,
            status,
            cancelled: chain_state.cancelled,
            backpressure_until,
            complete: whole_log || chain.holds_root,
            first_event: chain.first,
            last_event: chain.last,
        });
    }
    Ok(Json(ChainListDoc {
        chains: listed,
        cursor: cursor.max(end),
        scanned,
        complete: whole_log,
    }))
}

/// The cursor of the tenant's newest event (0: no event). The store has
/// no "latest cursor" call; a one-entry read after a cursor says whether
/// anything lies beyond it, so an exponential probe and a binary search
/// find the end in about 2·log2(n) reads of one entry, whatever the
/// cursors' spacing.
pub(crate) async fn log_end<S: ServerStore>(
    state: &AppState<S>,
    tenant: TenantId,
) -> Result<u64, ApiError> {
    let next_after = |cursor: u64| async move {
        state
            .events_after(tenant, cursor, 1)
            .await
            .map(|page| page.first().map(|entry| entry.cursor))
    };
    // Invariant: an entry at `low`; none after `high`.
    let Some(mut low) = next_after(0).await? else {
        return Ok(0);
    };
    let mut step: u64 = 1024;
    let mut high = loop {
        let probe = low.saturating_add(step);
        match next_after(probe).await? {
            Some(cursor) => {
                low = cursor;
                step = step.saturating_mul(2);
            }
            None => break probe,
        }
    };
    while low < high {
        let middle = low + (high - low) / 2;
        match next_after(middle).await? {
            Some(cursor) => low = cursor,
            None => high = middle,
        }
    }
    Ok(low)
}

/// Up to `count` log entries after `start`, read in pages; the last
/// cursor read.
async fn window<S: ServerStore>(
    state: &AppState<S>,
    tenant: TenantId,
    start: u64,
    count: usize,
) -> Result<(Vec<CursorEvent<RawJson>>, u64), ApiError> {
    let mut entries = Vec::new();
    let mut cursor = start;
    while entries.len() < count {
        let page_size = (count - entries.len()).min(MAX_LIMIT);
        let page = state.events_after(tenant, cursor, page_size).await?;
        let short = page.len() < page_size;
        if let Some(last) = page.last() {
            cursor = last.cursor;
        }
        entries.extend(page);
        if short {
            break;
        }
    }
    Ok((entries, cursor))
}
