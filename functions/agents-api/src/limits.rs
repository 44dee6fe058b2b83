//! Rate limits on the agent routes: per agent key and per client address (a registration
//! counts against its address), GCRA with the wait for `Retry-After`; and per WebSocket
//! connection for frames.

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;

pub struct Limits {
    keyed: DefaultKeyedRateLimiter<String>,
}

impl Limits {
    pub fn new(per_minute: u32) -> Self {
        let per_minute = NonZeroU32::new(per_minute.max(1)).expect("at least one");
        Self {
            keyed: RateLimiter::keyed(Quota::per_minute(per_minute)),
        }
    }

    /// One request by `who` (`key:<agent>` or `ip:<address>`): `Err(seconds)` to wait when
    /// over the limit.
    pub fn check(&self, who: &str) -> Result<(), u64> {
        self.keyed.check_key(&who.to_owned()).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })?;
        // Forget idle keys now and then, so the map stays the size of the active agents.
        if self.keyed.len() > 10_000 {
            self.keyed.retain_recent();
        }
        Ok(())
    }
}

/// Frames per second on one connection.
pub struct FrameLimit(governor::DefaultDirectRateLimiter);

impl FrameLimit {
    pub fn new(per_second: u32) -> Self {
        let per_second = NonZeroU32::new(per_second.max(1)).expect("at least one");
        Self(RateLimiter::direct(
            Quota::per_second(per_second)
                .allow_burst(per_second.saturating_mul(NonZeroU32::MIN.saturating_add(1))),
        ))
    }

    pub fn allow(&self) -> bool {
        self.0.check().is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_over_its_quota_waits_and_others_do_not() {
        let limits = Limits::new(3);
        for _ in 0..3 {
            assert!(limits.check("key:a").is_ok());
        }
        let wait = limits.check("key:a").unwrap_err();
        assert!((1..=20).contains(&wait), "{wait}");
        assert!(limits.check("key:b").is_ok());
        let frames = FrameLimit::new(5);
        assert_eq!(
            (0..30).filter(|_| frames.allow()).count(),
            10,
            "a burst of two seconds' worth"
        );
    }
}
