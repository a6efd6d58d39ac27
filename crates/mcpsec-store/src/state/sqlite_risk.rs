//! [`RiskStore`] on SQLite.

use super::risk::{
    LlmCallRecord, LlmUsage, RiskBucket, RiskPoint, RiskStore, StoredAssessment, StoredAsset,
};
use super::sqlite::{SqliteState, parse_ts, ts};
use crate::{Result, StoreError};
use chrono::{DateTime, Utc};
use mcpsec_core::TenantId;
use rusqlite::{OptionalExtension, params};

fn doc(s: String) -> serde_json::Value {
    serde_json::from_str(&s).unwrap_or(serde_json::Value::Null)
}

impl RiskStore for SqliteState {
    fn put_assets(
        &self,
        tenant: &TenantId,
        assets: &[StoredAsset],
        replace_all: bool,
    ) -> Result<usize> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        if replace_all {
            tx.execute(
                "DELETE FROM risk_assets WHERE tenant = ?1",
                [tenant.as_str()],
            )?;
        }
        {
            let mut put = tx.prepare_cached(
                "INSERT INTO risk_assets(tenant, kind, name, doc, updated_at, updated_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(tenant, kind, name) DO UPDATE SET doc = excluded.doc,
                   updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            )?;
            for a in assets {
                put.execute(params![
                    tenant.as_str(),
                    a.kind,
                    a.name,
                    a.doc.to_string(),
                    ts(&a.updated_at),
                    a.updated_by
                ])?;
            }
        }
        let n: i64 = tx.query_row(
            "SELECT COUNT(*) FROM risk_assets WHERE tenant = ?1",
            [tenant.as_str()],
            |r| r.get(0),
        )?;
        tx.commit()?;
        Ok(n.max(0) as usize)
    }

    fn list_assets(&self, tenant: &TenantId) -> Result<Vec<StoredAsset>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT kind, name, doc, updated_at, updated_by FROM risk_assets
             WHERE tenant = ?1 ORDER BY kind, name",
        )?;
        let rows = stmt.query_map([tenant.as_str()], |r| {
            Ok(StoredAsset {
                kind: r.get(0)?,
                name: r.get(1)?,
                doc: doc(r.get(2)?),
                updated_at: parse_ts(r.get(3)?).unwrap_or_default(),
                updated_by: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn put_assessment(&self, a: &StoredAssessment) -> Result<()> {
        self.conn().execute(
            "INSERT INTO risk_assessments(id, tenant, alert_id, at, score, source, actor, doc)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                a.id,
                a.tenant.as_str(),
                a.alert_id,
                ts(&a.at),
                a.score,
                a.source,
                a.actor,
                a.doc.to_string()
            ],
        )?;
        Ok(())
    }

    fn assessments(&self, tenant: &TenantId, alert_id: &str) -> Result<Vec<StoredAssessment>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, alert_id, at, score, source, actor, doc FROM risk_assessments
             WHERE tenant = ?1 AND alert_id = ?2 ORDER BY at, id",
        )?;
        let rows = stmt.query_map(params![tenant.as_str(), alert_id], |r| {
            Ok(StoredAssessment {
                id: r.get(0)?,
                tenant: tenant.clone(),
                alert_id: r.get(1)?,
                at: parse_ts(r.get(2)?).unwrap_or_default(),
                score: r.get::<_, i64>(3)?.clamp(0, 100) as u8,
                source: r.get(4)?,
                actor: r.get(5)?,
                doc: doc(r.get(6)?),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn record_llm_call(&self, c: &LlmCallRecord) -> Result<()> {
        self.conn().execute(
            "INSERT INTO llm_calls(id, tenant, at, provider, model, scenario, alert_id,
               prompt_tokens, completion_tokens, latency_ms, cost_usd, outcome, cached)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            params![
                c.id,
                c.tenant.as_str(),
                ts(&c.at),
                c.provider,
                c.model,
                c.scenario,
                c.alert_id,
                c.prompt_tokens.min(i64::MAX as u64) as i64,
                c.completion_tokens.min(i64::MAX as u64) as i64,
                c.latency_ms.min(i64::MAX as u64) as i64,
                c.cost_usd,
                c.outcome,
                c.cached
            ],
        )?;
        Ok(())
    }

    fn llm_usage(&self, tenant: &TenantId, since: DateTime<Utc>) -> Result<LlmUsage> {
        Ok(self.conn().query_row(
            "SELECT COUNT(*), COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0),
                    COALESCE(SUM(cost_usd), 0.0)
             FROM llm_calls WHERE tenant = ?1 AND at >= ?2 AND cached = 0",
            params![tenant.as_str(), ts(&since)],
            |r| {
                Ok(LlmUsage {
                    calls: r.get::<_, i64>(0)?.max(0) as u64,
                    prompt_tokens: r.get::<_, i64>(1)?.max(0) as u64,
                    completion_tokens: r.get::<_, i64>(2)?.max(0) as u64,
                    cost_usd: r.get(3)?,
                })
            },
        )?)
    }

    fn llm_calls(&self, tenant: &TenantId, limit: usize) -> Result<Vec<LlmCallRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, at, provider, model, scenario, alert_id, prompt_tokens, completion_tokens,
                    latency_ms, cost_usd, outcome, cached
             FROM llm_calls WHERE tenant = ?1 ORDER BY at DESC, id DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![tenant.as_str(), limit.min(10_000) as i64], |r| {
            Ok(LlmCallRecord {
                id: r.get(0)?,
                tenant: tenant.clone(),
                at: parse_ts(r.get(1)?).unwrap_or_default(),
                provider: r.get(2)?,
                model: r.get(3)?,
                scenario: r.get(4)?,
                alert_id: r.get(5)?,
                prompt_tokens: r.get::<_, i64>(6)?.max(0) as u64,
                completion_tokens: r.get::<_, i64>(7)?.max(0) as u64,
                latency_ms: r.get::<_, i64>(8)?.max(0) as u64,
                cost_usd: r.get(9)?,
                outcome: r.get(10)?,
                cached: r.get(11)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn llm_cache_get(
        &self,
        tenant: &TenantId,
        key: &str,
        not_before: DateTime<Utc>,
    ) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT response FROM llm_cache WHERE tenant = ?1 AND key = ?2 AND created_at >= ?3",
                params![tenant.as_str(), key, ts(&not_before)],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn llm_cache_put(
        &self,
        tenant: &TenantId,
        key: &str,
        response: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.conn().execute(
            "INSERT INTO llm_cache(tenant, key, response, created_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(tenant, key) DO UPDATE SET response = excluded.response,
               created_at = excluded.created_at",
            params![tenant.as_str(), key, response, ts(&at)],
        )?;
        Ok(())
    }

    fn add_risk_points(&self, tenant: &TenantId, points: &[RiskPoint]) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        {
            let mut put = tx.prepare_cached(
                "INSERT INTO risk_points(tenant, at, scope, name, score) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for p in points {
                put.execute(params![
                    tenant.as_str(),
                    ts(&p.at),
                    p.scope,
                    p.name,
                    p.score
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn risk_trend(
        &self,
        tenant: &TenantId,
        scope: Option<(&str, &str)>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        bucket_secs: u32,
    ) -> Result<Vec<RiskBucket>> {
        // Stored times are fixed-width RFC 3339 (`2024-05-01T12:34:56.000000Z`), so a
        // prefix is an hour or a day.
        let (prefix, suffix) = match bucket_secs {
            3600 => (13, ":00:00Z"),
            86_400 => (10, "T00:00:00Z"),
            other => {
                return Err(StoreError::Invalid(format!(
                    "trend buckets are 3600 or 86400 seconds, not {other}"
                )));
            }
        };
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT substr(at, 1, ?1) AS b, scope, name, MAX(score), AVG(score), COUNT(*)
             FROM risk_points
             WHERE tenant = ?2 AND at >= ?3 AND at < ?4
               AND (?5 IS NULL OR (scope = ?5 AND name = ?6))
             GROUP BY b, scope, name ORDER BY b, scope, name LIMIT 100000",
        )?;
        let rows = stmt.query_map(
            params![
                prefix,
                tenant.as_str(),
                ts(&from),
                ts(&to),
                scope.map(|s| s.0),
                scope.map(|s| s.1)
            ],
            |r| {
                Ok(RiskBucket {
                    start: format!("{}{suffix}", r.get::<_, String>(0)?),
                    scope: r.get(1)?,
                    name: r.get(2)?,
                    max: r.get(3)?,
                    avg: r.get(4)?,
                    points: r.get::<_, i64>(5)?.max(0) as u64,
                })
            },
        )?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StateStore;
    use chrono::TimeZone;
    use serde_json::json;

    fn t(name: &str) -> TenantId {
        TenantId::new(name).expect("tenant")
    }

    fn asset(kind: &str, name: &str) -> StoredAsset {
        StoredAsset {
            kind: kind.into(),
            name: name.into(),
            doc: json!({"criticality": "high"}),
            updated_at: Utc::now(),
            updated_by: "test".into(),
        }
    }

    #[test]
    fn assets_are_per_tenant_and_replaceable() {
        let s = SqliteState::in_memory().expect("open");
        let (a, b) = (t("a"), t("b"));
        s.create_tenant(&a).expect("a");
        s.create_tenant(&b).expect("b");
        assert_eq!(
            s.put_assets(&a, &[asset("host", "h1"), asset("user", "u1")], false)
                .expect("put"),
            2
        );
        assert_eq!(
            s.put_assets(&a, &[asset("host", "h1")], false)
                .expect("upsert"),
            2
        );
        assert!(s.list_assets(&b).expect("list").is_empty());
        assert_eq!(
            s.put_assets(&a, &[asset("host", "h2")], true)
                .expect("replace"),
            1
        );
        let left = s.list_assets(&a).expect("list");
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].name, "h2");
        assert_eq!(left[0].doc["criticality"], "high");
    }

    #[test]
    fn usage_counts_only_the_tenants_real_calls_since_a_time() {
        let s = SqliteState::in_memory().expect("open");
        let (a, b) = (t("a"), t("b"));
        let call = |tenant: &TenantId, id: &str, at, cached| LlmCallRecord {
            id: id.into(),
            tenant: tenant.clone(),
            at,
            provider: "p".into(),
            model: "m".into(),
            scenario: "alert_triage".into(),
            alert_id: Some("x".into()),
            prompt_tokens: 100,
            completion_tokens: 20,
            latency_ms: 5,
            cost_usd: 0.5,
            outcome: "ok".into(),
            cached,
        };
        let day = Utc
            .with_ymd_and_hms(2026, 1, 2, 0, 0, 0)
            .single()
            .expect("t");
        let before = day - chrono::Duration::minutes(1);
        s.record_llm_call(&call(&a, "1", before, false))
            .expect("rec");
        s.record_llm_call(&call(&a, "2", day, false)).expect("rec");
        s.record_llm_call(&call(&a, "3", day, true)).expect("rec");
        s.record_llm_call(&call(&b, "4", day, false)).expect("rec");
        let u = s.llm_usage(&a, day).expect("usage");
        assert_eq!(
            (u.calls, u.prompt_tokens, u.completion_tokens),
            (1, 100, 20)
        );
        assert!((u.cost_usd - 0.5).abs() < 1e-9);
        assert_eq!(s.llm_calls(&a, 10).expect("calls").len(), 3);
        assert_eq!(s.llm_calls(&b, 10).expect("calls").len(), 1);
    }

    #[test]
    fn cache_entries_expire_and_stay_in_their_tenant() {
        let s = SqliteState::in_memory().expect("open");
        let (a, b) = (t("a"), t("b"));
        let now = Utc::now();
        s.llm_cache_put(&a, "k", "answer", now).expect("put");
        let hour_ago = now - chrono::Duration::hours(1);
        assert_eq!(
            s.llm_cache_get(&a, "k", hour_ago).expect("get").as_deref(),
            Some("answer")
        );
        assert!(s.llm_cache_get(&b, "k", hour_ago).expect("get").is_none());
        let later = now + chrono::Duration::seconds(1);
        assert!(s.llm_cache_get(&a, "k", later).expect("get").is_none());
    }

    #[test]
    fn assessments_and_trends_round_trip() {
        let s = SqliteState::in_memory().expect("open");
        let a = t("a");
        let at = Utc
            .with_ymd_and_hms(2026, 3, 4, 5, 6, 7)
            .single()
            .expect("t");
        s.put_assessment(&StoredAssessment {
            id: "01".into(),
            tenant: a.clone(),
            alert_id: "al".into(),
            at,
            score: 70,
            source: "deterministic".into(),
            actor: "k".into(),
            doc: json!({"score": 70}),
        })
        .expect("put");
        let got = s.assessments(&a, "al").expect("get");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].score, 70);
        assert!(s.assessments(&t("b"), "al").expect("get").is_empty());
        let p = |min: i64, score: f64| RiskPoint {
            at: at + chrono::Duration::minutes(min),
            scope: "host".into(),
            name: "h1".into(),
            score,
        };
        s.add_risk_points(&a, &[p(0, 10.0), p(10, 30.0), p(70, 50.0)])
            .expect("points");
        let from = at - chrono::Duration::days(1);
        let to = at + chrono::Duration::days(1);
        let hours = s.risk_trend(&a, None, from, to, 3600).expect("hours");
        assert_eq!(hours.len(), 2);
        assert_eq!(hours[0].start, "2026-03-04T05:00:00Z");
        assert_eq!(
            (hours[0].max, hours[0].avg, hours[0].points),
            (30.0, 20.0, 2)
        );
        let days = s
            .risk_trend(&a, Some(("host", "h1")), from, to, 86_400)
            .expect("days");
        assert_eq!(days.len(), 1);
        assert_eq!(days[0].start, "2026-03-04T00:00:00Z");
        assert!(
            s.risk_trend(&a, Some(("host", "h2")), from, to, 3600)
                .expect("none")
                .is_empty()
        );
        assert!(s.risk_trend(&a, None, from, to, 60).is_err());
    }
}
