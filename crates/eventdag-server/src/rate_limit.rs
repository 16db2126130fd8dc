//! Per-key rate limits, from `governor` (GCRA, lock-free): one limiter
//! keyed by API key prefix for the default quota, and one per tenant
//! whose quota is configured apart. Only callers that passed
//! authentication reach it, so the keyed state holds at most one entry
//! per real key (and one, the empty prefix, for a keyless server).

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::time::Duration;

use eventdag::TenantId;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::config::{RateLimit, ServerConfig};

/// The rate limits of one server.
pub(crate) struct RateLimiter {
    /// `None`: unlimited.
    default: Option<DefaultKeyedRateLimiter<String>>,
    tenants: HashMap<TenantId, Option<DefaultKeyedRateLimiter<String>>>,
    clock: DefaultClock,
}

fn keyed(limit: RateLimit) -> Option<DefaultKeyedRateLimiter<String>> {
    let per_second = NonZeroU32::new(limit.per_second)?;
    let burst = NonZeroU32::new(limit.burst).unwrap_or(per_second);
    Some(governor::RateLimiter::keyed(
        Quota::per_second(per_second).allow_burst(burst),
    ))
}

impl RateLimiter {
    /// The limits `config` sets (a rate of 0 disables one).
    pub(crate) fn new(config: &ServerConfig) -> Self {
        Self {
            default: keyed(RateLimit {
                per_second: config.rate_limit_per_second,
                burst: config.rate_limit_burst,
            }),
            tenants: config
                .tenant_rate_limits
                .iter()
                .map(|(tenant, limit)| (*tenant, keyed(*limit)))
                .collect(),
            clock: DefaultClock::default(),
        }
    }

    /// Admits one request of `key` (a key prefix; empty without keys) of
    /// `tenant`, or says how long until one would be admitted.
    pub(crate) fn check(&self, tenant: TenantId, key: &str) -> Result<(), Duration> {
        let limiter = match self.tenants.get(&tenant) {
            Some(limiter) => limiter.as_ref(),
            None => self.default.as_ref(),
        };
        let Some(limiter) = limiter else {
            return Ok(());
        };
        limiter
            .check_key(&key.to_owned())
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(per_second: u32, burst: u32) -> ServerConfig {
        ServerConfig {
            rate_limit_per_second: per_second,
            rate_limit_burst: burst,
            ..ServerConfig::default()
        }
    }

    #[test]
    fn burst_then_refused_with_a_wait_then_refilled() {
        let limiter = RateLimiter::new(&config(100, 3));
        let tenant = TenantId::nil();
        for _ in 0..3 {
            assert!(limiter.check(tenant, "a").is_ok());
        }
        let wait = limiter.check(tenant, "a").unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_millis(10),
            "{wait:?}"
        );
        assert!(limiter.check(tenant, "b").is_ok(), "buckets are per key");
        std::thread::sleep(Duration::from_millis(15));
        assert!(limiter.check(tenant, "a").is_ok());
    }

    #[test]
    fn zero_rate_disables() {
        let limiter = RateLimiter::new(&config(0, 0));
        for _ in 0..10_000 {
            assert!(limiter.check(TenantId::nil(), "a").is_ok());
        }
    }

    #[test]
    fn a_tenant_quota_replaces_the_default_for_its_keys() {
        let special = TenantId::from_u128(7);
        let mut settings = config(1_000, 1_000);
        settings.tenant_rate_limits.insert(
            special,
            RateLimit {
                per_second: 1,
                burst: 2,
            },
        );
        let limiter = RateLimiter::new(&settings);
        assert!(limiter.check(special, "k").is_ok());
        assert!(limiter.check(special, "k").is_ok());
        assert!(limiter.check(special, "k").is_err(), "the tenant's burst");
        for _ in 0..100 {
            assert!(
                limiter.check(TenantId::nil(), "k").is_ok(),
                "others keep the default"
            );
        }
    }
}
