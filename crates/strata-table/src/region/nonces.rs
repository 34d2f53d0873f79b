//! The nonces of increments and appends a region applied lately, as HBase's region servers
//! keep them: a client that never got an answer retries the same operation with the same
//! nonce, and gets the first answer instead of the counter moving twice. Nonces are logged
//! with the edit, so a server replaying a dead server's log learns them too; each is kept
//! for half an hour.

use crate::cell::Cell;
use crate::mutation::Nonce;
use crate::proto::storage::WalEntry;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long a nonce is remembered.
const LIFETIME: Duration = Duration::from_secs(30 * 60);

/// How often expired nonces are dropped.
const PURGE_EVERY: Duration = Duration::from_secs(60);

/// Applied operations' nonces and their answers.
#[derive(Debug)]
pub struct Nonces {
    applied: Mutex<HashMap<Nonce, (Instant, Vec<Cell>)>>,
    purged: Mutex<Instant>,
}

impl Default for Nonces {
    fn default() -> Self {
        Nonces {
            applied: Mutex::new(HashMap::new()),
            purged: Mutex::new(Instant::now()),
        }
    }
}

impl Nonces {
    /// The answer of the operation with `nonce`, when it was applied.
    pub fn answer(&self, nonce: &Nonce) -> Option<Vec<Cell>> {
        let applied = self.applied.lock();
        applied
            .get(nonce)
            .filter(|(at, _)| at.elapsed() < LIFETIME)
            .map(|(_, cells)| cells.clone())
    }

    /// Records the operation with `nonce` as applied, answered with `cells`.
    pub fn applied(&self, nonce: Nonce, cells: Vec<Cell>) {
        let mut applied = self.applied.lock();
        let mut purged = self.purged.lock();
        if purged.elapsed() >= PURGE_EVERY {
            applied.retain(|_, (at, _)| at.elapsed() < LIFETIME);
            *purged = Instant::now();
        }
        applied.insert(nonce, (Instant::now(), cells));
    }

    /// Learns the nonce a replayed log entry carries, with the cells it wrote as its answer.
    pub fn replayed(&self, entry: &WalEntry) {
        let Some(nonce) = Nonce::from_parts(entry.nonce_group, entry.nonce) else {
            return;
        };
        let cells = (entry.cells.iter())
            .map(|c| {
                Cell::put(
                    entry.row.clone(),
                    c.family.clone(),
                    c.qualifier.clone(),
                    c.timestamp,
                    c.value.clone(),
                )
            })
            .collect();
        self.applied(nonce, cells);
    }
}
