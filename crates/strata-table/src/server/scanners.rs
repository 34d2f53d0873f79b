//! A region server's open scanners, by id, each with a lease: a scanner nobody asks for
//! results for `timeout` is closed (HBase's scanner timeout, 60 s by default).

use crate::error::{Error, Result};
use crate::read::RegionScanner;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::watch;

type Shared = Arc<tokio::sync::Mutex<RegionScanner>>;

/// The open scanners.
#[derive(Debug, Clone)]
pub struct Scanners {
    open: Arc<Mutex<HashMap<u64, (Shared, Instant)>>>,
    next: Arc<AtomicU64>,
    timeout: Duration,
}

impl Scanners {
    /// No scanners yet; idle ones close after `timeout`.
    pub fn new(timeout: Duration) -> Scanners {
        Scanners {
            open: Arc::new(Mutex::new(HashMap::new())),
            next: Arc::new(AtomicU64::new(rand::random::<u32>() as u64 + 1)),
            timeout,
        }
    }

    /// Keeps `scanner`; its id.
    pub fn add(&self, scanner: RegionScanner) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let entry = (Arc::new(tokio::sync::Mutex::new(scanner)), Instant::now());
        self.open.lock().insert(id, entry);
        id
    }

    /// The scanner `id`, its lease renewed.
    pub fn get(&self, id: u64) -> Result<Shared> {
        let mut open = self.open.lock();
        let entry = open
            .get_mut(&id)
            .ok_or_else(|| Error::UnknownScanner(id.to_string()))?;
        entry.1 = Instant::now();
        Ok(entry.0.clone())
    }

    /// Closes scanner `id`.
    pub fn remove(&self, id: u64) {
        self.open.lock().remove(&id);
    }

    /// Closes idle scanners until `stopped`.
    pub async fn expire_loop(self, mut stopped: watch::Receiver<bool>) {
        let every = (self.timeout / 4).max(Duration::from_millis(100));
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stopped.wait_for(|s| *s) => return,
            }
            let timeout = self.timeout;
            self.open
                .lock()
                .retain(|_, (_, used)| used.elapsed() <= timeout);
        }
    }
}
