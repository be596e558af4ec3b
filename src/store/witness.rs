//! The sync witness: in test builds, the store writes down, in order, every fsync it
//! makes, every name it gives a file, and every acknowledgement a protocol makes on
//! the strength of them, so a test can check that no acknowledgement (SMTP's 250)
//! came before the syncs that cover it (ARCHITECTURE.md, *250 only after the fsyncs*).
//!
//! A crash test cannot see a missing fsync: `kill -9` leaves the kernel's page cache,
//! so the file survives anyway. Only a power cut would show it; the witness shows it
//! without one. Outside test builds [`record`] does nothing and costs nothing.

use std::path::PathBuf;

/// One thing the store did, as the witness saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A file's bytes were fsynced (under its temporary name).
    FileSynced(PathBuf),
    /// A file was given a name (a hard link or a rename): `from` → `to`.
    Named { from: PathBuf, to: PathBuf },
    /// An fsync of a directory began; it covers every name made in it before.
    DirSyncStarted(PathBuf),
    /// That fsync finished, successfully.
    DirSyncDone(PathBuf),
    /// A protocol told its client that message `id` is safe (SMTP's 250).
    Acknowledged(String),
}

/// Writes an event down (test builds only; `event` is not even called otherwise).
#[inline]
pub fn record(event: impl FnOnce() -> Event) {
    #[cfg(test)]
    log::lock().push(event());
    #[cfg(not(test))]
    let _ = event;
}

/// Every event so far (test builds only).
#[cfg(test)]
pub fn events() -> Vec<Event> {
    log::lock().clone()
}

#[cfg(test)]
mod log {
    use super::Event;
    use std::sync::{Mutex, MutexGuard};

    static EVENTS: Mutex<Vec<Event>> = Mutex::new(Vec::new());

    pub fn lock() -> MutexGuard<'static, Vec<Event>> {
        EVENTS
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
