//! GraphQL over the caller's detection rules: `rules`, `rule` and `ruleVersions`, with
//! the `rules.read` permission like `GET /api/v1/rules`.

use crate::graphql_alerts::allowed;
use crate::rule_list::{TenantRule, tenant_rules};
use crate::{Action, AppState};
use async_graphql::{ComplexObject, Context, Object, SimpleObject};
use mcpsec_core::TenantId;
use std::sync::Arc;

/// Most rules one page holds.
const MAX_RULES: usize = 1000;

/// A rule running (or switched off) for the caller's tenant.
#[derive(SimpleObject)]
#[graphql(complex)]
pub(crate) struct Rule {
    /// The rule's id (else its title).
    id: String,
    /// Title.
    title: String,
    /// Level.
    level: Option<String>,
    /// Status.
    status: Option<String>,
    /// `file` or `api`.
    source: String,
    /// Whether it runs for this tenant.
    enabled: bool,
    /// Version (API rules; 0 for file rules).
    version: u32,
    /// The file it came from (file rules).
    file: Option<String>,
    /// When the latest version was deployed (RFC 3339; API rules).
    updated_at: Option<String>,
    /// Who deployed it (API rules).
    updated_by: Option<String>,
    #[graphql(skip)]
    text: Option<String>,
    #[graphql(skip)]
    tags_known: Vec<String>,
}

impl From<TenantRule> for Rule {
    fn from(r: TenantRule) -> Self {
        Rule {
            id: r.id,
            title: r.title,
            level: r.level,
            status: r.status,
            source: r.source.to_owned(),
            enabled: r.enabled,
            version: r.version,
            file: r.file,
            updated_at: r.updated_at.map(|t| mcpsec_core::to_rfc3339(&t)),
            updated_by: r.updated_by,
            text: r.yaml,
            tags_known: r.tags,
        }
    }
}

#[ComplexObject]
impl Rule {
    /// The Sigma YAML: an API rule's stored text, a file rule's document.
    async fn yaml(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        if let Some(t) = &self.text {
            return Ok(Some(t.clone()));
        }
        let st = ctx.data::<AppState>()?;
        let Some(d) = st.detector.clone() else {
            return Ok(None);
        };
        let id = self.id.clone();
        Ok(
            tokio::task::spawn_blocking(move || d.catalog().file_rule_text(&id))
                .await
                .map_err(|e| e.to_string())?,
        )
    }

    /// The rule's tags.
    async fn tags(&self) -> Vec<String> {
        if !self.tags_known.is_empty() || self.text.is_none() {
            return self.tags_known.clone();
        }
        mcpsec_sigma::parse_documents(self.text.as_deref().unwrap_or_default(), None)
            .ok()
            .and_then(|docs| docs.into_iter().flatten().next())
            .map(|d| match d {
                mcpsec_sigma::SigmaDocument::Rule(r) => r.meta.tags,
                mcpsec_sigma::SigmaDocument::Filter(f) => f.meta.tags,
                mcpsec_sigma::SigmaDocument::Correlation(c) => c.meta.tags,
            })
            .unwrap_or_default()
    }
}

/// A page of rules.
#[derive(SimpleObject)]
pub(crate) struct RulePage {
    /// Rules matching the filters.
    total: u64,
    /// This page, by id.
    rules: Vec<Rule>,
}

/// One version of an API rule.
#[derive(SimpleObject)]
pub(crate) struct RuleVersion {
    /// The version number.
    version: u32,
    /// `created`, `updated`, `enabled`, `disabled`, `deleted`.
    change: String,
    /// The text at that version.
    yaml: String,
    /// Whether it was enabled at that version.
    enabled: bool,
    /// Who.
    actor: String,
    /// When (RFC 3339).
    at: String,
}

async fn all_rules(st: &AppState, tenant: TenantId) -> async_graphql::Result<Vec<TenantRule>> {
    let state = st.state.clone();
    let catalog: Option<Arc<mcpsec_detect::Catalog>> =
        st.detector.as_ref().map(|d| d.catalog().clone());
    Ok(tokio::task::spawn_blocking(move || {
        tenant_rules(Some(state.as_ref()), catalog.as_deref(), &tenant)
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| e.to_string())?)
}

/// Rule queries (merged into the query root).
#[derive(Default)]
pub struct RuleQuery;

#[Object]
impl RuleQuery {
    /// The caller's rules, by id: `source` `file` or `api`, `q` a text the id or title
    /// contains (case-insensitive).
    async fn rules(
        &self,
        ctx: &Context<'_>,
        source: Option<String>,
        q: Option<String>,
        #[graphql(default = 100)] limit: usize,
        #[graphql(default = 0)] offset: usize,
    ) -> async_graphql::Result<RulePage> {
        let who = allowed(ctx, Action::RulesRead)?.clone();
        let st = ctx.data::<AppState>()?;
        if limit == 0 || limit > MAX_RULES {
            return Err(format!("limit must be between 1 and {MAX_RULES}").into());
        }
        if let Some(s) = &source
            && s != "file"
            && s != "api"
        {
            return Err(format!("unknown source {s:?}: use file or api").into());
        }
        let q = q.map(|q| q.to_lowercase());
        let mut all = all_rules(st, who.tenant).await?;
        all.retain(|r| {
            source.as_deref().is_none_or(|s| s == r.source)
                && q.as_deref().is_none_or(|q| {
                    r.title.to_lowercase().contains(q) || r.id.to_lowercase().contains(q)
                })
        });
        Ok(RulePage {
            total: all.len() as u64,
            rules: all
                .into_iter()
                .skip(offset)
                .take(limit)
                .map(Rule::from)
                .collect(),
        })
    }

    /// One rule of the caller's tenant by id (its API rule, else the file rule).
    async fn rule(&self, ctx: &Context<'_>, id: String) -> async_graphql::Result<Option<Rule>> {
        let who = allowed(ctx, Action::RulesRead)?.clone();
        let st = ctx.data::<AppState>()?;
        if id.is_empty() || id.len() > 200 {
            return Ok(None);
        }
        let all = all_rules(st, who.tenant).await?;
        Ok(all.into_iter().find(|r| r.id == id).map(Rule::from))
    }

    /// Every version of one of the caller's API rules, oldest first (also after it was
    /// deleted).
    async fn rule_versions(
        &self,
        ctx: &Context<'_>,
        id: String,
    ) -> async_graphql::Result<Vec<RuleVersion>> {
        let who = allowed(ctx, Action::RulesRead)?.clone();
        let st = ctx.data::<AppState>()?;
        let versions = st
            .on_store(move |s| s.rule_versions(&who.tenant, &id))
            .await
            .map_err(|e| async_graphql::Error::new(e.message))?;
        Ok(versions
            .into_iter()
            .map(|v| RuleVersion {
                version: v.version,
                change: v.change,
                yaml: v.yaml,
                enabled: v.enabled,
                actor: v.actor,
                at: mcpsec_core::to_rfc3339(&v.at),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn rules_queries_are_in_the_schema_within_the_limits() {
        let sdl = crate::graphql::schema().sdl();
        for q in ["rules(", "rule(", "ruleVersions(", "yaml: String"] {
            assert!(sdl.contains(q), "{q} missing");
        }
    }
}
