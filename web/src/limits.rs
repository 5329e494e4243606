//! Rate limits (governor's GCRA): sign-in attempts per IP address and per username, and a
//! general per-session limit generous enough that a busy front desk never meets it (the
//! defaults allow 50 requests/s sustained with bursts of 200) while a runaway script does.
//! Over a limit: 429 `rate_limited` with `Retry-After`.

use std::hash::Hash;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use crate::error::ApiError;
use crate::state::WebConfig;

type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock>;

/// The limiters of one server.
pub struct Limits {
    login_by_ip: Keyed<std::net::IpAddr>,
    login_by_user: Keyed<String>,
    per_session: Keyed<clowder_schemas::SessionId>,
    /// Public routes that write (webhooks, unsubscribe links), per client address, with the
    /// per-session quota.
    public_by_ip: Keyed<std::net::IpAddr>,
    clock: DefaultClock,
}

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n.max(1)).expect("max(1) is never zero")
}

impl Limits {
    pub fn new(config: &WebConfig) -> Arc<Self> {
        // `attempts` per `window`: a burst of `attempts`, refilled evenly over the window.
        let per = (config.login_window / config.login_attempts.max(1)).max(Duration::from_millis(1));
        let login = Quota::with_period(per).expect("a non-zero period").allow_burst(nz(config.login_attempts));
        let session = Quota::per_second(nz(config.rate_per_sec)).allow_burst(nz(config.rate_burst));
        let limits = Arc::new(Self {
            login_by_ip: RateLimiter::keyed(login),
            login_by_user: RateLimiter::keyed(login),
            per_session: RateLimiter::keyed(session),
            public_by_ip: RateLimiter::keyed(session),
            clock: DefaultClock::default(),
        });
        // Forget keys that are back to a full allowance, so memory stays bounded.
        let weak = Arc::downgrade(&limits);
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(60));
                loop {
                    tick.tick().await;
                    let Some(l) = weak.upgrade() else { break };
                    l.login_by_ip.retain_recent();
                    l.login_by_user.retain_recent();
                    l.per_session.retain_recent();
                    l.public_by_ip.retain_recent();
                }
            });
        }
        limits
    }

    fn check<K: Hash + Eq + Clone>(&self, limiter: &Keyed<K>, key: &K, what: &str) -> Result<(), ApiError> {
        limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            ApiError {
                retry_after: Some(wait.max(Duration::from_secs(1))),
                ..ApiError::new(
                    clowder_schemas::ErrorCode::RateLimited,
                    format!("too many {what}; try again in {} s", wait.as_secs().max(1)),
                )
            }
        })
    }

    /// One sign-in attempt from `ip` for `username` (both limits must allow it).
    pub fn sign_in(&self, ip: Option<std::net::IpAddr>, username: &str) -> Result<(), ApiError> {
        if let Some(ip) = ip {
            self.check(&self.login_by_ip, &ip, "sign-in attempts from this address")?;
        }
        let user: String = username.trim().to_lowercase().chars().take(64).collect();
        self.check(&self.login_by_user, &user, "sign-in attempts for this username")
    }

    /// One request of a session.
    pub fn request(&self, session: clowder_schemas::SessionId) -> Result<(), ApiError> {
        self.check(&self.per_session, &session, "requests from this session")
    }

    /// One request to a public route that writes (webhooks, unsubscribe links) from `ip`.
    pub fn public(&self, ip: std::net::IpAddr) -> Result<(), ApiError> {
        self.check(&self.public_by_ip, &ip, "requests from this address")
    }
}
