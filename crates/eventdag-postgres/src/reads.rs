//! The read paths: each one query (walks included) under the operation
//! timeout.

use eventdag::backend::{capped, StoredRecord};
use eventdag::{
    CursorEvent, DagPosition, ErrorEffect, Event, EventId, EventKind, TenantId, DEFAULT_TENANT,
    MAX_CHAIN_EVENTS,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

use crate::codec::{db_u32, events_of, model_u64, sql_limit, EventRow};
use crate::queries;
use crate::PgDag;

/// Which way a walk goes.
#[derive(Clone, Copy)]
pub(crate) enum Walk {
    Ancestors,
    Descendants,
}

impl<P> PgDag<P>
where
    P: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    async fn fetch_rows(
        &self,
        operation: &str,
        query: sqlx::query::QueryAs<'_, sqlx::Postgres, EventRow, sqlx::postgres::PgArguments>,
    ) -> Result<Vec<EventRow>, ErrorEffect> {
        query
            .fetch_all(&self.inner.pool)
            .await
            .map_err(|error| self.sql(operation, &error))
    }

    async fn row(&self, event_id: EventId) -> Result<EventRow, ErrorEffect> {
        let rows = self
            .fetch_rows("read", sqlx::query_as(&queries::READ).bind(event_id))
            .await?;
        rows.into_iter()
            .next()
            .ok_or(ErrorEffect::NotFound { event_id })
    }

    pub(crate) async fn read_event(&self, event_id: EventId) -> Result<Event<P>, ErrorEffect> {
        self.bounded("read", async { self.row(event_id).await?.into_event() })
            .await
    }

    pub(crate) async fn walk(
        &self,
        from: EventId,
        limit: usize,
        direction: Walk,
    ) -> Result<Vec<Event<P>>, ErrorEffect> {
        let (operation, sql) = match direction {
            Walk::Ancestors => ("walk_ancestors", &*queries::ANCESTORS),
            Walk::Descendants => ("walk_descendants", &*queries::DESCENDANTS),
        };
        self.bounded(operation, async {
            let limit = capped(limit);
            if limit == 0 {
                self.tenant_of(from).await?;
                return Ok(Vec::new());
            }
            let rows = self
                .fetch_rows(
                    operation,
                    sqlx::query_as(sql).bind(from).bind(sql_limit(limit)),
                )
                .await?;
            if rows.is_empty() {
                return Err(ErrorEffect::NotFound { event_id: from });
            }
            events_of(rows)
        })
        .await
    }

    /// The tenant of an event, or not-found.
    pub(crate) async fn tenant_of(&self, event_id: EventId) -> Result<TenantId, ErrorEffect> {
        let tenant: Option<(Uuid,)> = sqlx::query_as(queries::TENANT_OF)
            .bind(event_id)
            .fetch_optional(&self.inner.pool)
            .await
            .map_err(|error| self.sql("lookup", &error))?;
        tenant
            .map(|(tenant,)| tenant)
            .ok_or(ErrorEffect::NotFound { event_id })
    }

    async fn chain_rows(
        &self,
        tenant_id: TenantId,
        correlation_id: EventId,
    ) -> Result<Vec<EventRow>, ErrorEffect> {
        self.fetch_rows(
            "find_correlation_chain",
            sqlx::query_as(&queries::CHAIN)
                .bind(tenant_id)
                .bind(correlation_id)
                .bind(sql_limit(MAX_CHAIN_EVENTS)),
        )
        .await
    }

    pub(crate) async fn chain(
        &self,
        tenant_id: TenantId,
        correlation_id: EventId,
    ) -> Result<Vec<Event<P>>, ErrorEffect> {
        self.bounded("find_correlation_chain", async {
            events_of(self.chain_rows(tenant_id, correlation_id).await?)
        })
        .await
    }

    pub(crate) async fn records(
        &self,
        tenant_id: TenantId,
        correlation_id: EventId,
    ) -> Result<Vec<StoredRecord>, ErrorEffect> {
        self.bounded("chain_records", async {
            self.chain_rows(tenant_id, correlation_id)
                .await?
                .into_iter()
                .map(EventRow::into_record::<P>)
                .collect()
        })
        .await
    }

    pub(crate) async fn record(&self, event_id: EventId) -> Result<StoredRecord, ErrorEffect> {
        self.bounded("stored_record", async {
            self.row(event_id).await?.into_record::<P>()
        })
        .await
    }

    pub(crate) async fn by_kind(
        &self,
        tenant_id: Option<TenantId>,
        kind: EventKind,
        min_depth: u32,
        max_depth: u32,
        limit: usize,
    ) -> Result<Vec<Event<P>>, ErrorEffect> {
        self.bounded("find_by_kind", async {
            let limit = capped(limit);
            if limit == 0 || min_depth > max_depth {
                return Ok(Vec::new());
            }
            let sql: &str = match tenant_id {
                None => &queries::BY_KIND,
                Some(_) => &queries::BY_KIND_FOR_TENANT,
            };
            let mut query = sqlx::query_as(sql)
                .bind(i32::from(kind.0))
                .bind(db_u32(min_depth))
                .bind(db_u32(max_depth))
                .bind(sql_limit(limit));
            if let Some(tenant_id) = tenant_id {
                query = query.bind(tenant_id);
            }
            events_of(self.fetch_rows("find_by_kind", query).await?)
        })
        .await
    }

    pub(crate) async fn unacked(
        &self,
        tenant_id: Option<TenantId>,
        limit: usize,
    ) -> Result<Vec<Event<P>>, ErrorEffect> {
        self.bounded("unacknowledged", async {
            let limit = capped(limit);
            if limit == 0 {
                return Ok(Vec::new());
            }
            let sql: &str = match tenant_id {
                None => &queries::UNACKED,
                Some(_) => &queries::UNACKED_FOR_TENANT,
            };
            let mut query = sqlx::query_as(sql).bind(sql_limit(limit));
            if let Some(tenant_id) = tenant_id {
                query = query.bind(tenant_id);
            }
            events_of(self.fetch_rows("unacknowledged", query).await?)
        })
        .await
    }

    /// `next_position`; with `tenant_id`, a parent of another tenant is
    /// not found.
    pub(crate) async fn position(
        &self,
        tenant_id: Option<TenantId>,
        parent: Option<EventId>,
        lane: u32,
    ) -> Result<DagPosition, ErrorEffect> {
        self.bounded("next_position", async {
            let sql = |error: sqlx::Error| self.sql("next_position", &error);
            let (depth, next) = match parent {
                None => {
                    let next: Option<(i64,)> = sqlx::query_as(queries::LANE_NEXT)
                        .bind(tenant_id.unwrap_or(DEFAULT_TENANT))
                        .bind(db_u32(lane))
                        .fetch_optional(&self.inner.pool)
                        .await
                        .map_err(sql)?;
                    (0, next.map(|(next,)| next))
                }
                Some(parent) => {
                    let found: Option<(Uuid, i64, Option<i64>)> =
                        sqlx::query_as(queries::PARENT_POSITION)
                            .bind(parent)
                            .bind(db_u32(lane))
                            .fetch_optional(&self.inner.pool)
                            .await
                            .map_err(sql)?;
                    match found {
                        Some((owner, depth, next)) if tenant_id.is_none_or(|t| t == owner) => {
                            let depth = u32::try_from(depth).map_err(|_| {
                                ErrorEffect::corrupt(
                                    Some(parent),
                                    format!("stored depth {depth} is out of range"),
                                )
                            })?;
                            (depth.saturating_add(1), next)
                        }
                        _ => return Err(ErrorEffect::NotFound { event_id: parent }),
                    }
                }
            };
            let next = next
                .map(|n| model_u64(None, "next_sequence", n))
                .transpose()?
                .unwrap_or(0);
            Ok(DagPosition::new(
                depth,
                lane,
                u32::try_from(next).unwrap_or(u32::MAX),
            ))
        })
        .await
    }

    pub(crate) async fn after(
        &self,
        tenant_id: TenantId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<CursorEvent<P>>, ErrorEffect> {
        self.bounded("events_after", async {
            let limit = capped(limit);
            let Ok(after) = i64::try_from(after) else {
                return Ok(Vec::new());
            };
            if limit == 0 {
                return Ok(Vec::new());
            }
            let rows = self
                .fetch_rows(
                    "events_after",
                    sqlx::query_as(&queries::EVENTS_AFTER)
                        .bind(tenant_id)
                        .bind(after)
                        .bind(sql_limit(limit)),
                )
                .await?;
            rows.into_iter()
                .map(|row| {
                    let cursor = row.cursor()?;
                    Ok(CursorEvent {
                        cursor,
                        event: row.into_event()?,
                    })
                })
                .collect()
        })
        .await
    }

    pub(crate) async fn health(&self) -> Result<(), ErrorEffect> {
        self.bounded("check_health", async {
            sqlx::query("SELECT 1")
                .execute(&self.inner.pool)
                .await
                .map(|_| ())
                .map_err(|error| self.sql("check_health", &error))
        })
        .await
    }
}
