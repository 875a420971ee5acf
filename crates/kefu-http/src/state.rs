//! What every handler shares: the application, the server settings, the login rate limiter and the
//! metrics handle.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use kefu_app::App;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio_util::sync::CancellationToken;

/// Server settings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Mark cookies `Secure` (behind HTTPS). Off for plain-HTTP installs on a LAN and for tests.
    pub secure_cookies: bool,
    /// Sign-in attempts allowed per minute, per client address and per account.
    pub login_attempts_per_minute: u32,
    /// A session ends after this long without a request.
    pub session_idle_timeout: Duration,
    /// The largest JSON body accepted, in bytes.
    pub max_json_bytes: usize,
    /// Requests taking longer are cut off with 503.
    pub request_timeout: Duration,
    /// The address customers reach Kefu at (`https://help.example.com`), for links in emails, canonical URLs
    /// and the sitemap. Unset, they are built from the request's `Host` header.
    pub public_url: Option<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            secure_cookies: false,
            login_attempts_per_minute: 10,
            session_idle_timeout: Duration::from_secs(12 * 3600),
            max_json_bytes: 2 * 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            public_url: None,
        }
    }
}

/// Sign-in throttling, keyed by client address and by account.
pub struct LoginLimiter {
    by_address: DefaultKeyedRateLimiter<IpAddr>,
    by_account: DefaultKeyedRateLimiter<String>,
}

impl LoginLimiter {
    fn new(per_minute: u32) -> LoginLimiter {
        let per_minute = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::per_minute(per_minute).allow_burst(per_minute);
        LoginLimiter { by_address: RateLimiter::keyed(quota), by_account: RateLimiter::keyed(quota) }
    }

    /// Takes one attempt from both budgets; `Err(seconds)` says how long to wait when either is empty.
    pub fn check(&self, address: IpAddr, account: &str) -> Result<(), u64> {
        let wait = |outcome: Result<(), governor::NotUntil<governor::clock::QuantaInstant>>| {
            outcome.err().map(|not_until| {
                not_until
                    .wait_time_from(governor::clock::Clock::now(&governor::clock::DefaultClock::default()))
                    .as_secs()
                    + 1
            })
        };
        let address_wait = wait(self.by_address.check_key(&address));
        let account_wait = wait(self.by_account.check_key(&account.trim().to_lowercase()));
        match address_wait.max(account_wait) {
            Some(seconds) => Err(seconds),
            None => Ok(()),
        }
    }
}

/// Shared by all handlers; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The use cases.
    pub app: App,
    /// Server settings.
    pub config: Arc<ServerConfig>,
    /// Sign-in throttling.
    pub login_limiter: Arc<LoginLimiter>,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
    /// Cancelled when the server shuts down; long-lived connections (WebSockets) watch it.
    pub shutdown: CancellationToken,
}

impl AppState {
    /// Assembles the state.
    pub fn new(app: App, config: ServerConfig, metrics: PrometheusHandle, shutdown: CancellationToken) -> AppState {
        let login_limiter = Arc::new(LoginLimiter::new(config.login_attempts_per_minute));
        AppState { app, config: Arc::new(config), login_limiter, metrics, shutdown }
    }
}
