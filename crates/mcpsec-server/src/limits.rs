//! Per-key and per-tenant rate limits (token buckets, `governor`), and the response
//! headers every answer carries.

use crate::{ApiError, Principal};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use mcpsec_core::ErrorCode;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// Request rates allowed.
#[derive(Debug, Clone, Copy)]
pub struct RateLimits {
    /// Sustained requests per second for one API key.
    pub per_key_per_sec: u32,
    /// Sustained requests per second for all keys of one tenant together.
    pub per_tenant_per_sec: u32,
    /// How many requests above the rate a burst may use.
    pub burst: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            per_key_per_sec: 500,
            per_tenant_per_sec: 2000,
            burst: 1000,
        }
    }
}

/// The limiters of a server.
pub(crate) struct Limiter {
    per_key: DefaultKeyedRateLimiter<String>,
    per_tenant: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

fn quota(per_sec: u32, burst: u32) -> Quota {
    let rate = NonZeroU32::new(per_sec.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(burst.max(per_sec).max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::per_second(rate).allow_burst(burst)
}

impl Limiter {
    pub(crate) fn new(l: RateLimits) -> Arc<Self> {
        Arc::new(Limiter {
            per_key: DefaultKeyedRateLimiter::keyed(quota(l.per_key_per_sec, l.burst)),
            per_tenant: DefaultKeyedRateLimiter::keyed(quota(
                l.per_tenant_per_sec,
                l.burst.saturating_mul(4),
            )),
            clock: DefaultClock::default(),
        })
    }

    /// Takes one request from both buckets, or says how long to wait.
    pub(crate) fn check(&self, who: &Principal) -> Result<(), ApiError> {
        let verdict = self
            .per_key
            .check_key(&who.key_id)
            .and_then(|_| self.per_tenant.check_key(&who.tenant.to_string()));
        match verdict {
            Ok(()) => Ok(()),
            Err(not_until) => {
                metrics::counter!("mcpsec_rate_limited_total").increment(1);
                let wait = not_until.wait_time_from(self.clock.now());
                let mut err = ApiError::new(
                    ErrorCode::Overloaded,
                    "rate limit exceeded for this API key or tenant; slow down",
                );
                err.retry_after = Some(wait.max(Duration::from_secs(1)));
                Err(err)
            }
        }
    }

    /// Drops idle buckets so the maps do not grow without bound.
    pub(crate) fn shrink(&self) {
        self.per_key.retain_recent();
        self.per_tenant.retain_recent();
    }
}
