//! GraphQL over alerts: the `alerts` and `alert` queries and the `setAlertStatus`
//! mutation, with the same permissions as the REST API.

use crate::{Action, AppState, Principal};
use async_graphql::{Context, Json as GqlJson, Object, SimpleObject, Subscription};
use futures_util::{Stream, StreamExt};
use mcpsec_store::{AlertFilter, AlertStatus, MAX_ALERT_PAGE, level_rank, parse_level};

/// An alert.
#[derive(SimpleObject)]
pub(crate) struct Alert {
    /// Id (ULID).
    id: String,
    /// `rule` or `correlation`.
    kind: String,
    /// The rule's id.
    rule_id: String,
    /// The rule's title.
    rule_title: String,
    /// Version of the rule that fired.
    rule_version: u32,
    /// Sigma level.
    level: String,
    /// Tags of the rule.
    tags: Vec<String>,
    /// ATT&CK techniques.
    techniques: Vec<String>,
    /// ATT&CK tactics.
    tactics: Vec<String>,
    /// Host named by the event.
    host: Option<String>,
    /// Time of the (first) event (RFC 3339).
    event_time: String,
    /// When the alert was stored (RFC 3339).
    created_at: String,
    /// `open`, `acknowledged`, `closed`, `false_positive`.
    status: String,
    /// Who set the status last.
    status_by: Option<String>,
    /// Events the alert stands for.
    event_count: u64,
    /// Ids of the events.
    event_ids: Vec<String>,
    /// The events (untrusted data from monitored systems).
    events: GqlJson<Vec<serde_json::Value>>,
}

impl From<mcpsec_store::Alert> for Alert {
    fn from(a: mcpsec_store::Alert) -> Self {
        Alert {
            id: a.id,
            kind: a.kind.as_str().to_owned(),
            rule_id: a.rule_id,
            rule_title: a.rule_title,
            rule_version: a.rule_version,
            level: a.level,
            tags: a.tags,
            techniques: a.techniques,
            tactics: a.tactics,
            host: a.host,
            event_time: mcpsec_core::to_rfc3339(&a.event_time),
            created_at: mcpsec_core::to_rfc3339(&a.created_at),
            status: a.status.as_str().to_owned(),
            status_by: a.status_by,
            event_count: a.event_count,
            event_ids: a.event_ids,
            events: GqlJson(a.events),
        }
    }
}

/// A page of alerts.
#[derive(SimpleObject)]
pub(crate) struct AlertPage {
    /// Matches in all pages.
    total: u64,
    /// This page, newest event first.
    alerts: Vec<Alert>,
}

/// The caller, after checking it may do `action`.
pub(crate) fn allowed<'a>(
    ctx: &'a Context<'_>,
    action: Action,
) -> async_graphql::Result<&'a Principal> {
    let who = ctx.data::<Principal>()?;
    let st = ctx.data::<AppState>()?;
    let attrs = crate::Attributes {
        transport: "graphql",
        method: "POST".into(),
        path: "/graphql".into(),
        resource_id: None,
    };
    st.authorize(who, action, &attrs)
        .map_err(|e| async_graphql::Error::new(e.message))?;
    Ok(who)
}

fn status(s: &str) -> async_graphql::Result<AlertStatus> {
    AlertStatus::parse(s).ok_or_else(|| {
        format!("unknown status {s:?}: use open, acknowledged, closed or false_positive").into()
    })
}

/// Alert queries (merged into the query root).
#[derive(Default)]
pub struct AlertQuery;

#[Object]
impl AlertQuery {
    /// The caller's alerts, newest event first.
    #[allow(clippy::too_many_arguments)] // one parameter per GraphQL argument
    async fn alerts(
        &self,
        ctx: &Context<'_>,
        min_level: Option<String>,
        status: Option<Vec<String>>,
        rule: Option<String>,
        host: Option<String>,
        from: Option<String>,
        to: Option<String>,
        #[graphql(default = 100)] limit: usize,
        #[graphql(default = 0)] offset: usize,
    ) -> async_graphql::Result<AlertPage> {
        let who = allowed(ctx, Action::AlertsRead)?.clone();
        let st = ctx.data::<AppState>()?;
        if limit == 0 || limit > MAX_ALERT_PAGE {
            return Err(format!("limit must be between 1 and {MAX_ALERT_PAGE}").into());
        }
        let (from, to) = crate::timeparse::period(from.as_deref(), to.as_deref())
            .map_err(|e| async_graphql::Error::new(e.message))?;
        let statuses = status
            .unwrap_or_default()
            .iter()
            .map(|s| self::status(s))
            .collect::<async_graphql::Result<Vec<_>>>()?;
        let filter = AlertFilter {
            min_level,
            statuses,
            rule_id: rule,
            host,
            from,
            to,
            limit,
            offset,
            ..AlertFilter::default()
        };
        let page = st
            .on_store(move |s| s.list_alerts(&who.tenant, &filter))
            .await
            .map_err(|e| async_graphql::Error::new(e.message))?;
        Ok(AlertPage {
            total: page.total,
            alerts: page.alerts.into_iter().map(Alert::from).collect(),
        })
    }

    /// One of the caller's alerts.
    async fn alert(&self, ctx: &Context<'_>, id: String) -> async_graphql::Result<Option<Alert>> {
        let who = allowed(ctx, Action::AlertsRead)?.clone();
        let st = ctx.data::<AppState>()?;
        let found = st
            .on_store(move |s| s.get_alert(&who.tenant, &id))
            .await
            .map_err(|e| async_graphql::Error::new(e.message))?;
        Ok(found.map(Alert::from))
    }
}

/// Alert mutations (merged into the mutation root).
#[derive(Default)]
pub struct AlertMutation;

#[Object]
impl AlertMutation {
    /// Sets an alert's status; who and when are recorded. `null` when there is no such
    /// alert in the caller's tenant.
    async fn set_alert_status(
        &self,
        ctx: &Context<'_>,
        id: String,
        status: String,
        comment: Option<String>,
    ) -> async_graphql::Result<Option<Alert>> {
        let who = allowed(ctx, Action::AlertsWrite)?.clone();
        let st = ctx.data::<AppState>()?;
        let to = self::status(&status)?;
        let comment = comment.map(|c| c.chars().take(4000).collect::<String>());
        let (tenant, actor) = (who.tenant.clone(), who.key_id.clone());
        let found = st
            .on_store(move |s| {
                let changed = s.set_alert_status(
                    &tenant,
                    std::slice::from_ref(&id),
                    to,
                    &actor,
                    comment.as_deref(),
                    chrono::Utc::now(),
                )?;
                if changed.is_empty() {
                    return Ok(None);
                }
                s.get_alert(&tenant, &id)
            })
            .await
            .map_err(|e| async_graphql::Error::new(e.message))?;
        if let Some(a) = &found {
            st.audit(mcpsec_store::AuditEvent {
                tenant: who.tenant.to_string(),
                actor: who.key_id.clone(),
                action: "alerts.status".into(),
                target: a.id.clone(),
                outcome: "success".into(),
                details: serde_json::json!({ "status": status, "transport": "graphql" }),
            });
        }
        Ok(found.map(Alert::from))
    }
}

/// Subscriptions (over `GET /graphql/ws`, protocols `graphql-transport-ws` and
/// `graphql-ws`).
pub struct SubscriptionRoot;

#[Subscription]
impl SubscriptionRoot {
    /// The caller's new alerts as they are stored, optionally from `minLevel` up. A
    /// subscriber too far behind gets an error and should page with `alerts`.
    async fn alerts(
        &self,
        ctx: &Context<'_>,
        min_level: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<Alert>> + use<>> {
        let who = allowed(ctx, Action::AlertsRead)?.clone();
        let st = ctx.data::<AppState>()?;
        let detector = st
            .detector
            .as_ref()
            .ok_or("detection is not running on this server")?;
        let min = match min_level.as_deref() {
            None => 0,
            Some(l) => parse_level(l).ok_or_else(|| format!("unknown level {l:?}"))?,
        };
        let rx = tokio_stream::wrappers::BroadcastStream::new(detector.subscribe());
        let tenant = who.tenant;
        Ok(rx.filter_map(move |item| {
            let out = match item {
                Ok(a) if a.tenant == tenant && level_rank(&a.level) >= min => {
                    Some(Ok(Alert::from(a.as_ref().clone())))
                }
                Ok(_) => None,
                Err(e) => Some(Err(async_graphql::Error::new(format!(
                    "slow consumer: {e}; page with the alerts query"
                )))),
            };
            std::future::ready(out)
        }))
    }
}
