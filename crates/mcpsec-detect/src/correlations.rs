//! Correlation windows of one tenant: one engine over the file rules and one over the
//! tenant's own rules (a correlation refers to rules of its own set), persisted with the
//! consumer's offset.

use mcpsec_sigma::{CompiledRule, CorrelationHit, CorrelationState, Engine, Limits, RuleSet};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;

/// Which rule set a rule belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Origin {
    /// Loaded from files, shared by every tenant.
    Files,
    /// Deployed by the tenant through the API.
    Own,
}

/// What a matched rule means for correlations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Role {
    /// A correlation counts its matches.
    pub feeds: bool,
    /// Its matches are alerts of their own (`generate`, or not correlated at all).
    pub emits: bool,
}

/// Saved windows of one tenant.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct SavedWindows {
    files: Option<CorrelationState<String>>,
    own: Option<CorrelationState<String>>,
}

impl SavedWindows {
    /// A copy (the states are plain data).
    pub(crate) fn copy(&self) -> Self {
        SavedWindows {
            files: self.files.clone(),
            own: self.own.clone(),
        }
    }
}

/// The engines of one tenant.
pub(crate) struct Windows {
    engines: Mutex<(Engine<String>, Engine<String>)>,
    roles: HashMap<(Origin, String), Role>,
    any: bool,
}

impl std::fmt::Debug for Windows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Windows")
            .field("roles", &self.roles.len())
            .finish_non_exhaustive()
    }
}

fn roles_of(
    set: &RuleSet,
    engine: &Engine<String>,
    origin: Origin,
) -> Vec<((Origin, String), Role)> {
    set.rules()
        .iter()
        .filter(|r| engine.wants(&r.meta))
        .map(|r| {
            (
                (origin, r.name().to_owned()),
                Role {
                    feeds: true,
                    emits: engine.generates(&r.meta),
                },
            )
        })
        .collect()
}

impl Windows {
    /// Engines over the two rule sets.
    pub(crate) fn new(files: &RuleSet, own: &RuleSet) -> Self {
        let limits = Limits::default();
        let f = Engine::new(files, limits);
        let o = Engine::new(own, limits);
        let mut roles: HashMap<(Origin, String), Role> = HashMap::new();
        roles.extend(roles_of(files, &f, Origin::Files));
        roles.extend(roles_of(own, &o, Origin::Own));
        let any = !files.correlations().is_empty() || !own.correlations().is_empty();
        Windows {
            engines: Mutex::new((f, o)),
            roles,
            any,
        }
    }

    /// Whether any correlation is deployed.
    pub(crate) fn any(&self) -> bool {
        self.any
    }

    /// The role of a matched rule (uncorrelated rules just emit).
    pub(crate) fn role(&self, origin: Origin, rule: &CompiledRule) -> Role {
        self.roles
            .get(&(origin, rule.name().to_owned()))
            .copied()
            .unwrap_or(Role {
                feeds: false,
                emits: true,
            })
    }

    fn with<T>(&self, f: impl FnOnce(&mut Engine<String>, &mut Engine<String>) -> T) -> T {
        let mut g = self.engines.lock().unwrap_or_else(|e| e.into_inner());
        let (a, b) = &mut *g;
        f(a, b)
    }

    /// Feeds a match; returns the hits to report (chained inner hits are not).
    pub(crate) fn observe(
        &self,
        origin: Origin,
        rule: &str,
        event: &serde_json::Map<String, serde_json::Value>,
        time_ms: i64,
        id: String,
    ) -> Vec<CorrelationHit<String>> {
        self.with(|files, own| {
            let e = match origin {
                Origin::Files => files,
                Origin::Own => own,
            };
            let hits = e.observe_by_name(rule, event, time_ms, id);
            hits.into_iter().filter(|h| e.reports(&h.meta)).collect()
        })
    }

    /// Closes windows that ended before `now_ms` (event time).
    pub(crate) fn advance(&self, now_ms: i64) -> Vec<(Origin, CorrelationHit<String>)> {
        self.with(|files, own| {
            let mut out = Vec::new();
            for (origin, e) in [(Origin::Files, files), (Origin::Own, own)] {
                for h in e.advance(now_ms) {
                    if e.reports(&h.meta) {
                        out.push((origin, h));
                    }
                }
            }
            out
        })
    }

    /// The windows, to persist.
    pub(crate) fn save(&self) -> SavedWindows {
        self.with(|files, own| SavedWindows {
            files: Some(files.snapshot()),
            own: Some(own.snapshot()),
        })
    }

    /// Loads saved windows (those of changed or removed correlations are dropped).
    pub(crate) fn restore(&self, saved: SavedWindows) {
        self.with(|files, own| {
            if let Some(s) = saved.files {
                files.restore(s);
            }
            if let Some(s) = saved.own {
                own.restore(s);
            }
        });
    }
}
