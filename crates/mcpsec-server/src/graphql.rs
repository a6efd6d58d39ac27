//! GraphQL (`POST /graphql`): the same data as the REST API, for clients that want to ask
//! for exactly the fields they need. Depth and complexity are limited, and every
//! resolver reads the caller's tenant from the request, never from arguments.

use crate::{ApiError, AppState, Principal, parse_time_param};
use async_graphql::{Context, Json as GqlJson, MergedObject, Object, Schema, SimpleObject};
use axum::Extension;
use axum::Json;
use axum::extract::State;
use mcpsec_store::{MAX_LIMIT, SearchRequest, SortOrder};

/// Deepest query accepted.
pub const MAX_DEPTH: usize = 10;
/// Highest query complexity accepted.
pub const MAX_COMPLEXITY: usize = 2000;

/// The schema type.
pub type McpsecSchema = Schema<QueryRoot, MutationRoot, crate::graphql_alerts::SubscriptionRoot>;

/// Builds the schema with its limits.
pub fn schema() -> McpsecSchema {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        crate::graphql_alerts::SubscriptionRoot,
    )
    .limit_depth(MAX_DEPTH)
    .limit_complexity(MAX_COMPLEXITY)
    .finish()
}

/// Root of queries: events, alerts, supply-chain projects, rules, risk and playbooks.
#[derive(MergedObject, Default)]
pub struct QueryRoot(
    EventQuery,
    crate::graphql_alerts::AlertQuery,
    crate::graphql_projects::ProjectQuery,
    crate::graphql_rules::RuleQuery,
    crate::graphql_risk::RiskQuery,
    crate::graphql_playbooks::PlaybookQuery,
);

/// Root of mutations: alert triage, risk assessment, playbook runs and approvals.
#[derive(MergedObject, Default)]
pub struct MutationRoot(
    crate::graphql_alerts::AlertMutation,
    crate::graphql_risk::RiskMutation,
    crate::graphql_playbooks::PlaybookMutation,
);

/// Event queries.
#[derive(Default)]
pub struct EventQuery;

/// An event.
#[derive(SimpleObject)]
struct Event {
    /// Id (ULID).
    id: String,
    /// Log sequence number.
    seq: u64,
    /// Event time (RFC 3339).
    time: String,
    /// Receive time (RFC 3339).
    received_at: String,
    /// Source kind (`http`, `syslog-udp`, `file`, ...).
    source_kind: String,
    /// Source name.
    source_name: String,
    /// Recognised format.
    format: String,
    /// The event's fields as they arrived.
    fields: GqlJson<serde_json::Map<String, serde_json::Value>>,
}

impl From<mcpsec_core::Event> for Event {
    fn from(e: mcpsec_core::Event) -> Self {
        Event {
            id: e.id.to_string(),
            seq: e.seq,
            time: mcpsec_core::to_rfc3339(&e.time),
            received_at: mcpsec_core::to_rfc3339(&e.received_at),
            source_kind: e.source.kind,
            source_name: e.source.name,
            format: e.format.as_str().to_owned(),
            fields: GqlJson(e.fields),
        }
    }
}

/// A page of events.
#[derive(SimpleObject)]
struct EventPage {
    /// Matches in all pages.
    total: u64,
    /// This page.
    events: Vec<Event>,
}

/// The caller, after checking it may read events.
fn principal<'a>(ctx: &'a Context<'_>) -> async_graphql::Result<&'a Principal> {
    crate::graphql_alerts::allowed(ctx, crate::Action::EventsRead)
}

#[Object]
impl EventQuery {
    /// Searches the caller's events (same query language as `GET /api/v1/events`).
    #[allow(clippy::too_many_arguments)] // one parameter per GraphQL argument
    async fn events(
        &self,
        ctx: &Context<'_>,
        query: Option<String>,
        from: Option<String>,
        to: Option<String>,
        #[graphql(default = 100)] limit: usize,
        #[graphql(default = 0)] offset: usize,
        #[graphql(default = false)] oldest_first: bool,
    ) -> async_graphql::Result<EventPage> {
        let who = principal(ctx)?.clone();
        let st = ctx.data::<AppState>()?;
        if limit == 0 || limit > MAX_LIMIT {
            return Err(format!("limit must be between 1 and {MAX_LIMIT}").into());
        }
        let now = chrono::Utc::now();
        let req = SearchRequest {
            query: query.unwrap_or_default(),
            from: from
                .as_deref()
                .map(|s| parse_time_param(s, now))
                .transpose()?,
            to: to
                .as_deref()
                .map(|s| parse_time_param(s, now))
                .transpose()?,
            limit,
            offset,
            order: if oldest_first {
                SortOrder::Asc
            } else {
                SortOrder::Desc
            },
        };
        let index = st.index.clone();
        let res = tokio::task::spawn_blocking(move || index.search(&who.tenant, &req))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        Ok(EventPage {
            total: res.total,
            events: res.events.into_iter().map(Event::from).collect(),
        })
    }

    /// One of the caller's events by id.
    async fn event(&self, ctx: &Context<'_>, id: String) -> async_graphql::Result<Option<Event>> {
        let who = principal(ctx)?.clone();
        let st = ctx.data::<AppState>()?;
        if ulid::Ulid::from_string(&id).is_err() {
            return Err(format!("{id:?} is not an event id").into());
        }
        let index = st.index.clone();
        let found = tokio::task::spawn_blocking(move || index.get(&who.tenant, &id))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        Ok(found.map(Event::from))
    }

    /// The caller's tenant.
    async fn tenant(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        Ok(principal(ctx)?.tenant.to_string())
    }
}

/// `POST /graphql`.
pub(crate) async fn handler(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Json(req): Json<async_graphql::Request>,
) -> Result<Json<async_graphql::Response>, ApiError> {
    let schema = st.graphql.clone();
    let resp = schema.execute(req.data(who).data(st)).await;
    Ok(Json(resp))
}

/// `GET /graphql/ws`: GraphQL over WebSocket (subscriptions; `graphql-transport-ws` or
/// the older `graphql-ws` protocol), authenticated like every API call (browsers pass
/// `access_token=`).
pub(crate) async fn ws(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    protocol: async_graphql_axum::GraphQLProtocol,
    upgrade: axum::extract::ws::WebSocketUpgrade,
) -> axum::response::Response {
    let schema = st.graphql.clone();
    let mut data = async_graphql::Data::default();
    data.insert(who);
    data.insert(st);
    upgrade
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .max_message_size(64 * 1024)
        .on_upgrade(move |socket| {
            async_graphql_axum::GraphQLWebSocket::new(socket, schema, protocol)
                .with_data(data)
                .serve()
        })
}
