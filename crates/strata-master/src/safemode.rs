//! Safe mode: while on, the namespace refuses changes and nothing is re-replicated.
//!
//! The master starts in safe mode and leaves it by itself once the configured share of
//! finished blocks has at least one reported replica, plus a short extension so stragglers can
//! report. An operator can enter it by hand; then only an operator can leave it.

use std::time::{Duration, Instant};

/// The safe-mode state.
#[derive(Debug, Clone)]
pub struct SafeMode {
    manual: bool,
    startup: bool,
    reached_at: Option<Instant>,
    reported: u64,
    total: u64,
}

impl SafeMode {
    /// The state a master starts in.
    pub fn at_startup() -> SafeMode {
        SafeMode {
            manual: false,
            startup: true,
            reached_at: None,
            reported: 0,
            total: 0,
        }
    }

    /// Whether safe mode is on.
    pub fn is_on(&self) -> bool {
        self.manual || self.startup
    }

    /// An operator turns it on.
    pub fn enter(&mut self) {
        self.manual = true;
    }

    /// An operator turns it off (also ends the start-up phase).
    pub fn leave(&mut self) {
        self.manual = false;
        self.startup = false;
    }

    /// A sentence saying why safe mode is on, or that it is off.
    pub fn status(&self) -> String {
        if self.manual {
            return "safe mode is ON (entered by an operator; leave with `strata admin safemode leave`)"
                .to_string();
        }
        if self.startup {
            return format!(
                "safe mode is ON (starting up: {} of {} blocks reported{})",
                self.reported,
                self.total,
                if self.reached_at.is_some() {
                    ", threshold reached, leaving shortly"
                } else {
                    ""
                }
            );
        }
        "safe mode is OFF".to_string()
    }

    /// Feeds the latest block counts; returns true when this call ended the start-up phase.
    pub fn update(
        &mut self,
        reported: u64,
        total: u64,
        threshold: f64,
        extension: Duration,
        now: Instant,
    ) -> bool {
        self.reported = reported;
        self.total = total;
        if !self.startup {
            return false;
        }
        if total == 0 {
            self.startup = false;
            return true;
        }
        let reached = reported as f64 >= threshold * total as f64;
        match (reached, self.reached_at) {
            (false, _) => self.reached_at = None,
            (true, None) => self.reached_at = Some(now),
            (true, Some(at)) if now.duration_since(at) >= extension => {
                self.startup = false;
                return true;
            }
            (true, Some(_)) => {}
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaves_after_threshold_and_extension() {
        let mut s = SafeMode::at_startup();
        let t0 = Instant::now();
        let ext = Duration::from_secs(3);
        assert!(!s.update(5, 10, 0.999, ext, t0));
        assert!(s.is_on());
        assert!(!s.update(10, 10, 0.999, ext, t0));
        assert!(!s.update(10, 10, 0.999, ext, t0 + Duration::from_secs(1)));
        assert!(s.update(10, 10, 0.999, ext, t0 + Duration::from_secs(4)));
        assert!(!s.is_on());
    }

    #[test]
    fn empty_namespace_leaves_at_once_and_manual_sticks() {
        let mut s = SafeMode::at_startup();
        assert!(s.update(0, 0, 0.999, Duration::from_secs(3), Instant::now()));
        s.enter();
        assert!(s.is_on());
        s.update(0, 0, 0.999, Duration::ZERO, Instant::now());
        assert!(s.is_on());
        s.leave();
        assert!(!s.is_on());
    }
}
