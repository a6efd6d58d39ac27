//! What a correlation reports when its condition holds.

use crate::correlation::CorrelationType;
use crate::rule::RuleMeta;
use std::sync::Arc;

/// One firing of a correlation rule for one group.
#[derive(Debug, Clone)]
pub struct CorrelationHit<R> {
    /// The correlation rule's metadata (id, title, level, tags, ATT&CK), shared.
    pub meta: Arc<RuleMeta>,
    /// The correlation type.
    pub kind: CorrelationType,
    /// The group: each `group-by` name with the value shared by the grouped events.
    pub group: Vec<(String, String)>,
    /// The aggregated value the condition held for: a count, sum, average, percentile
    /// or (temporal types) the number of referenced rules seen.
    pub value: f64,
    /// Time of the oldest grouped event (through chained hits), milliseconds since the
    /// Unix epoch.
    pub window_start_ms: i64,
    /// Time of the newest grouped event, milliseconds since the Unix epoch.
    pub window_end_ms: i64,
    /// The grouped events, oldest first; at most [`super::Limits::max_refs_per_hit`]
    /// (the oldest ones and the newest one) when there were more.
    pub events: Vec<R>,
    /// How many events were grouped in all.
    pub event_count: u64,
}

impl<R> CorrelationHit<R> {
    /// The correlation's id, else its title.
    pub fn name(&self) -> &str {
        self.meta.id.as_deref().unwrap_or(&self.meta.title)
    }
}
