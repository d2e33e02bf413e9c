//! Active controller connections and fail-open: the pure state machines, with time as a
//! parameter (the I/O is in [`super::OfServer`]).
//!
//! # Reconnecting (OVS's rconn)
//! A configured `tcp:`/`unix:` controller is always in one of three states: waiting to try
//! ([`CtlState::Backoff`]), connecting, or connected. The first attempt is immediate. A failed
//! attempt, or a connection that dropped before it had lasted as long as the current backoff,
//! doubles the backoff (1 s, 2 s, 4 s, then [`MAX_BACKOFF`] = 8 s, OVS's default
//! `max_backoff`); a connection that dropped after lasting longer starts over at 1 s. A connect
//! that has not completed within the backoff (at least 1 s) counts as failed.
//!
//! # Fail-open (OVS's fail-open.c)
//! With fail mode `standalone` and at least one controller configured, the bridge "fails
//! open" once no controller has been admitted (connected and sent a request) for three
//! probe intervals ([`FAIL_OPEN_PROBES`] × 5 s = 15 s): one interval of idleness before the
//! probe, one to answer it, one to reconnect. It then switches every packet with `NORMAL`
//! (see [`rvs_flowcache::xlate::XlateBridge::fail_open`]), and goes back to its flow tables
//! as soon as a controller is admitted. Fail mode `secure` never fails open; the time counts
//! from when the controller was configured, so a bridge whose controller never answers fails
//! open 15 s after it was configured.

use std::time::{Duration, Instant};

use mio::Token;

use super::transport::Target;

/// Longest wait between connection attempts (OVS's default `max_backoff`).
pub const MAX_BACKOFF: Duration = Duration::from_secs(8);
/// Probe intervals without a controller before a standalone bridge fails open.
pub const FAIL_OPEN_PROBES: u32 = 3;

/// Where a controller connection stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CtlState {
    /// Not connected; try again at `retry_at`.
    Backoff {
        /// When to try.
        retry_at: Instant,
    },
    /// Connecting on `token`; give up at `deadline`.
    Connecting {
        /// The connection's token.
        token: Token,
        /// When the attempt counts as failed.
        deadline: Instant,
    },
    /// Connected on `token` since `since`.
    Connected {
        /// The connection's token.
        token: Token,
        /// When the connection was established.
        since: Instant,
    },
}

/// One configured controller (`tcp:` or `unix:` target).
#[derive(Clone, Debug)]
pub struct Controller {
    /// The target as configured (also the key in the bridge's controller map).
    pub target_text: String,
    /// The parsed target.
    pub target: Target,
    /// Connection state.
    pub state: CtlState,
    backoff: Duration,
    /// When a controller on this target was last admitted (or when it was configured).
    pub last_admitted: Instant,
}

impl Controller {
    /// A controller configured at `now`: first attempt at once.
    pub fn new(target_text: &str, target: Target, now: Instant) -> Controller {
        Controller { target_text: target_text.to_string(), target, state: CtlState::Backoff { retry_at: now }, backoff: Duration::ZERO, last_admitted: now }
    }

    /// True if it is time to try connecting.
    pub fn due(&self, now: Instant) -> bool {
        matches!(self.state, CtlState::Backoff { retry_at } if now >= retry_at)
    }

    /// A connection attempt started on `token`.
    pub fn connecting(&mut self, token: Token, now: Instant) {
        self.state = CtlState::Connecting { token, deadline: now + self.backoff.max(Duration::from_secs(1)) };
    }

    /// The attempt succeeded.
    pub fn connected(&mut self, token: Token, now: Instant) {
        self.state = CtlState::Connected { token, since: now };
    }

    /// The attempt failed or the connection dropped: schedule the next attempt and return
    /// how long it waits.
    pub fn disconnected(&mut self, now: Instant) -> Duration {
        let stable = matches!(self.state, CtlState::Connected { since, .. } if now.saturating_duration_since(since) > self.backoff.max(Duration::from_secs(1)));
        self.backoff = if stable { Duration::from_secs(1) } else { (self.backoff * 2).clamp(Duration::from_secs(1), MAX_BACKOFF) };
        self.state = CtlState::Backoff { retry_at: now + self.backoff };
        self.backoff
    }

    /// The token of its connection, if it has one (connecting or connected).
    pub fn token(&self) -> Option<Token> {
        match self.state {
            CtlState::Connecting { token, .. } | CtlState::Connected { token, .. } => Some(token),
            CtlState::Backoff { .. } => None,
        }
    }

    /// When the state machine next needs attention.
    pub fn deadline(&self) -> Option<Instant> {
        match self.state {
            CtlState::Backoff { retry_at } => Some(retry_at),
            CtlState::Connecting { deadline, .. } => Some(deadline),
            CtlState::Connected { .. } => None,
        }
    }
}

/// Whether a bridge should be failed open at `now`. `admitted_now` is true if a controller
/// connection is admitted at this moment. See the module documentation.
pub fn should_fail_open<'a>(
    standalone: bool,
    controllers: impl IntoIterator<Item = &'a Controller>,
    admitted_now: bool,
    probe_interval: Duration,
    now: Instant,
) -> bool {
    if !standalone || admitted_now {
        return false;
    }
    let last = controllers.into_iter().map(|c| c.last_admitted).max();
    match last {
        None => false,
        Some(t) => now.saturating_duration_since(t) >= probe_interval * FAIL_OPEN_PROBES,
    }
}

/// When [`should_fail_open`] turns true if nothing changes (for the event loop's timer).
pub fn fail_open_deadline<'a>(controllers: impl IntoIterator<Item = &'a Controller>, probe_interval: Duration) -> Option<Instant> {
    controllers.into_iter().map(|c| c.last_admitted).max().map(|t| t + probe_interval * FAIL_OPEN_PROBES)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctl(now: Instant) -> Controller {
        Controller::new("tcp:127.0.0.1:6653", Target::parse("tcp:127.0.0.1:6653").unwrap(), now)
    }

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn backoff_doubles_to_eight_seconds_and_resets_after_a_stable_connection() {
        let t0 = Instant::now();
        let mut c = ctl(t0);
        assert!(c.due(t0), "first attempt at once");
        let waits: Vec<u64> = (0..6)
            .map(|_| {
                c.connecting(Token(1), t0);
                c.disconnected(t0).as_secs()
            })
            .collect();
        assert_eq!(waits, vec![1, 2, 4, 8, 8, 8]);
        assert!(!c.due(t0 + S(7)) && c.due(t0 + S(8)));
        // A connection that lasted a minute: start over at 1 s.
        c.connected(Token(2), t0);
        assert_eq!(c.disconnected(t0 + S(60)), S(1));
        // One that dropped at once keeps doubling.
        c.connected(Token(3), t0 + S(61));
        assert_eq!(c.disconnected(t0 + S(61)), S(2));
    }

    #[test]
    fn connect_attempts_time_out() {
        let t0 = Instant::now();
        let mut c = ctl(t0);
        c.connecting(Token(1), t0);
        assert_eq!(c.deadline(), Some(t0 + S(1)));
        assert_eq!(c.token(), Some(Token(1)));
        c.connected(Token(1), t0);
        assert_eq!(c.deadline(), None);
    }

    #[test]
    fn fails_open_after_three_probe_intervals_without_a_controller() {
        let t0 = Instant::now();
        let mut c = ctl(t0);
        let p = S(5);
        assert!(!should_fail_open(true, [&c], false, p, t0 + S(14)));
        assert!(should_fail_open(true, [&c], false, p, t0 + S(15)));
        assert_eq!(fail_open_deadline([&c], p), Some(t0 + S(15)));
        assert!(!should_fail_open(false, [&c], false, p, t0 + S(100)), "secure never fails open");
        assert!(!should_fail_open(true, [&c], true, p, t0 + S(100)), "an admitted controller closes it");
        assert!(!should_fail_open(true, [], false, p, t0 + S(100)), "no controller, nothing to fail");
        c.last_admitted = t0 + S(50);
        assert!(!should_fail_open(true, [&c], false, p, t0 + S(60)));
    }
}
