//! The per-tenant daily token and cost budgets, with reservations: before a model call
//! its worst case (the prompt's estimated tokens plus the answer's `max_tokens`) is
//! reserved, and a call starts only while what the tenant spent today plus what calls in
//! flight reserved is below the budget. The reservation is released once the call's real
//! usage is recorded. So concurrent calls cannot all pass a check that reads the same
//! usage: as with one call at a time, the budget is overrun by at most the call that
//! crossed it. Reservations are kept by the process (`serve`, or one CLI run).

use super::Assessor;
use crate::llm::ProviderConfig;
use chrono::Utc;
use mcpsec_core::TenantId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Bytes of prompt counted as one token when estimating (tokenizers of current models
/// average 3.5–4.5 bytes per token on English and JSON; 3 errs on the high side).
pub const BYTES_PER_TOKEN: u64 = 3;

/// Tokens and cost reserved per tenant by calls in flight.
pub(crate) type Ledger = Arc<Mutex<HashMap<TenantId, (u64, f64)>>>;

/// A reservation, released when dropped.
pub(crate) struct Reservation {
    ledger: Ledger,
    tenant: TenantId,
    tokens: u64,
    cost: f64,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let mut map = self.ledger.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = map.get_mut(&self.tenant) {
            e.0 = e.0.saturating_sub(self.tokens);
            e.1 = (e.1 - self.cost).max(0.0);
            if e.0 == 0 {
                map.remove(&self.tenant);
            }
        }
    }
}

/// The worst case of one call: the prompt estimated from its bytes, and the longest
/// answer the provider may give.
pub fn estimate(prompt_bytes: usize, p: &ProviderConfig) -> (u64, f64) {
    let prompt = (prompt_bytes as u64).div_ceil(BYTES_PER_TOKEN);
    let answer = u64::from(p.max_tokens);
    (prompt + answer, p.cost(prompt, answer))
}

impl Assessor {
    /// Reserves `(tokens, cost)` for one call of `tenant`, or says why the budget does
    /// not allow it. Without budgets nothing is read or reserved.
    pub(crate) async fn reserve(
        &self,
        tenant: &TenantId,
        tokens: u64,
        cost: f64,
    ) -> Result<Option<Reservation>, String> {
        let (token_limit, cost_limit) =
            (self.cfg.daily_token_budget, self.cfg.daily_cost_budget_usd);
        if token_limit.is_none() && cost_limit.is_none() {
            return Ok(None);
        }
        let midnight = Utc::now()
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc())
            .unwrap_or_else(Utc::now);
        let (ledger, t) = (self.reserved.clone(), tenant.clone());
        let checked = self
            .blocking(move |s| {
                // Held over the read, so two calls cannot both see the same room.
                let mut map = ledger.lock().unwrap_or_else(|p| p.into_inner());
                let u = s.llm_usage(&t, midnight)?;
                let (held_tokens, held_cost) = map.get(&t).copied().unwrap_or((0, 0.0));
                let used = u.prompt_tokens + u.completion_tokens;
                if let Some(limit) = token_limit
                    && used + held_tokens >= limit
                {
                    return Ok(Err(if held_tokens == 0 {
                        format!("daily token budget spent ({used} of {limit} tokens)")
                    } else {
                        format!(
                            "daily token budget spent ({used} used and {held_tokens} reserved by calls in flight, of {limit} tokens)"
                        )
                    }));
                }
                if let Some(limit) = cost_limit
                    && u.cost_usd + held_cost >= limit
                {
                    return Ok(Err(if held_cost == 0.0 {
                        format!("daily cost budget spent ({:.4} of {limit} USD)", u.cost_usd)
                    } else {
                        format!(
                            "daily cost budget spent ({:.4} USD used and {held_cost:.4} reserved by calls in flight, of {limit} USD)",
                            u.cost_usd
                        )
                    }));
                }
                let e = map.entry(t.clone()).or_insert((0, 0.0));
                e.0 += tokens;
                e.1 += cost;
                Ok(Ok(Reservation {
                    ledger: ledger.clone(),
                    tenant: t,
                    tokens,
                    cost,
                }))
            })
            .await;
        match checked {
            Ok(Ok(r)) => Ok(Some(r)),
            Ok(Err(why)) => Err(why),
            Err(e) => Err(format!("cannot read the budget: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::ProviderKind;

    #[test]
    fn the_estimate_covers_the_prompt_and_the_longest_answer() {
        let mut p = ProviderConfig::new(ProviderKind::Openai, "http://127.0.0.1:1/v1", "m");
        p.max_tokens = 100;
        p.input_price_per_mtok = 1_000_000.0;
        p.output_price_per_mtok = 2_000_000.0;
        let (tokens, cost) = estimate(301, &p);
        assert_eq!(tokens, 101 + 100);
        assert!((cost - (101.0 + 200.0)).abs() < 1e-9, "{cost}");
    }

    #[test]
    fn a_dropped_reservation_gives_its_room_back() {
        let ledger: Ledger = Arc::default();
        let t = TenantId::new("acme").expect("t");
        ledger.lock().expect("lock").insert(t.clone(), (300, 0.5));
        let r = Reservation {
            ledger: ledger.clone(),
            tenant: t.clone(),
            tokens: 100,
            cost: 0.2,
        };
        drop(r);
        let got = ledger.lock().expect("lock").get(&t).copied();
        assert_eq!(got.map(|g| g.0), Some(200));
        let last = Reservation {
            ledger: ledger.clone(),
            tenant: t.clone(),
            tokens: 200,
            cost: 0.3,
        };
        drop(last);
        assert!(ledger.lock().expect("lock").is_empty(), "nothing held");
    }
}
