//! The I/O budget a region server gives its compactions: bytes per second, shared by every
//! compaction on the server, so background merges never take the disks and network from
//! the writes and reads being served.

use parking_lot::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// A byte rate compactions are held to (0: unlimited).
#[derive(Debug)]
pub struct IoBudget {
    bytes_per_second: u64,
    next_free: Mutex<Instant>,
}

impl IoBudget {
    /// A budget of `bytes_per_second`.
    pub fn new(bytes_per_second: u64) -> IoBudget {
        IoBudget {
            bytes_per_second,
            next_free: Mutex::new(Instant::now()),
        }
    }

    /// Takes `bytes` from the budget, waiting until the rate allows them.
    pub async fn spend(&self, bytes: u64) {
        if self.bytes_per_second == 0 || bytes == 0 {
            return;
        }
        let wait_until = {
            let mut next = self.next_free.lock();
            let now = Instant::now();
            let start = (*next).max(now);
            let cost = Duration::from_secs_f64(bytes as f64 / self.bytes_per_second as f64);
            *next = start + cost;
            start
        };
        tokio::time::sleep_until(wait_until).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn spending_past_the_rate_waits() {
        let budget = IoBudget::new(1_000_000);
        let start = Instant::now();
        budget.spend(500_000).await;
        budget.spend(500_000).await;
        budget.spend(1).await;
        assert_eq!(start.elapsed(), Duration::from_secs(1));
        IoBudget::new(0).spend(u64::MAX).await;
    }
}
