//! What a receiver knows about every record it hands to a normalizer.

use chrono::{DateTime, Utc};
use mcpsec_core::{Event, EventFormat, SourceInfo, TenantId};
use serde_json::{Map, Value};

/// What every normalized event gets from its receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// The tenant the events belong to.
    pub tenant: TenantId,
    /// Where the records came from.
    pub source: SourceInfo,
    /// When the records were received; also the event time when none is found in a record,
    /// and the reference for guessing the year of RFC 3164 timestamps.
    pub received_at: DateTime<Utc>,
}

impl Context {
    /// A context for records received now.
    pub fn new(tenant: TenantId, source: SourceInfo) -> Self {
        Context {
            tenant,
            source,
            received_at: Utc::now(),
        }
    }

    /// The same context with another receive time (replays, batches, tests).
    pub fn with_received_at(mut self, received_at: DateTime<Utc>) -> Self {
        self.received_at = received_at;
        self
    }

    /// Builds the event: fresh id, this context's tenant, source and receive time, and
    /// `time` (the receive time when `None`).
    pub(crate) fn event(
        &self,
        format: EventFormat,
        fields: Map<String, Value>,
        time: Option<DateTime<Utc>>,
    ) -> Event {
        let mut event = Event::new(self.tenant.clone(), self.source.clone(), format, fields);
        event.received_at = self.received_at;
        event.time = time.unwrap_or(self.received_at);
        event
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn event_takes_context_times_and_fresh_ids() {
        let at = Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).single();
        let at = at.expect("valid time");
        let ctx = Context::new(TenantId::default_tenant(), SourceInfo::new("cli", ""))
            .with_received_at(at);
        let a = ctx.event(EventFormat::Text, Map::new(), None);
        let b = ctx.event(
            EventFormat::Text,
            Map::new(),
            Some(at - chrono::Duration::hours(1)),
        );
        assert_eq!(a.received_at, at);
        assert_eq!(a.time, at);
        assert_eq!(b.time, at - chrono::Duration::hours(1));
        assert_ne!(a.id, b.id);
        assert_eq!(a.seq, 0);
        assert_eq!(a.source.kind, "cli");
    }
}
