//! Group commit: one fsync of a directory serves every name made in it before that
//! fsync began.
//!
//! A message is ours only once its directory entry is on disk (ARCHITECTURE.md, *250
//! only after the fsyncs*), so every delivery ends with an fsync of `new/`. When twenty
//! clients finish DATA at the same moment, twenty fsyncs of the same directory would
//! each wait for the disk in turn. They need not: an fsync of a directory makes
//! durable every entry made in it *before the fsync started*. So the first thread to
//! arrive leads — it runs the fsync — and the threads that arrive while it runs wait
//! for the next round, which one of them leads, covering them all at once.
//!
//! Each caller takes a ticket after it made its name. A round records the highest
//! ticket taken when its fsync started; every caller with a ticket up to that number is
//! covered by that round, and by nothing earlier. A caller returns only when a round
//! that covers it has finished, so "250 only after the fsyncs" holds for each of them:
//! nobody is answered on the strength of an fsync that began before its link.
//!
//! Left out: waiting on purpose to gather a bigger group (a few hundred microseconds
//! would do, as databases' `commit_delay`); here a group is whoever arrives while the
//! disk is busy, which costs nothing when the server is idle.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};

// ANCHOR: group_sync
/// The fsyncs of one directory, shared by the threads that made names in it.
#[derive(Default)]
pub struct GroupSync {
    rounds: Mutex<Rounds>,
    /// Rung when a round ends.
    round_done: Condvar,
}

#[derive(Default)]
struct Rounds {
    /// The last ticket handed out.
    tickets: u64,
    /// Every ticket up to this one is covered by a finished, successful fsync.
    synced: u64,
    /// Every ticket up to this one was in a round whose fsync failed, and how.
    failed: Option<(u64, io::ErrorKind)>,
    /// A round is running now.
    running: bool,
}
// ANCHOR_END: group_sync

impl GroupSync {
    // ANCHOR: sync
    /// Returns once an fsync that started after this call began has finished: every
    /// name the caller made before calling is then on disk. `fsync` does the work, for
    /// whichever caller leads the round.
    pub fn sync(&self, fsync: impl FnOnce() -> io::Result<()>) -> io::Result<()> {
        let mut rounds = self.lock();
        rounds.tickets += 1;
        let ticket = rounds.tickets;
        let mut fsync = Some(fsync);
        loop {
            if rounds.synced >= ticket {
                return Ok(());
            }
            if let Some((covered, kind)) = rounds.failed {
                if covered >= ticket {
                    return Err(io::Error::new(kind, "the directory could not be synced"));
                }
            }
            if rounds.running {
                // A round is running, but it started before our ticket: wait for it,
                // then lead or join the next one.
                rounds = self
                    .round_done
                    .wait(rounds)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                continue;
            }
            // Lead a round that covers every ticket handed out so far.
            let covers = rounds.tickets;
            rounds.running = true;
            drop(rounds);
            let result = match fsync.take() {
                Some(fsync) => fsync(),
                None => Err(io::Error::other("group commit: led twice")),
            };
            rounds = self.lock();
            rounds.running = false;
            match &result {
                Ok(()) => rounds.synced = rounds.synced.max(covers),
                Err(e) => rounds.failed = Some((covers, e.kind())),
            }
            self.round_done.notify_all();
            // Our own ticket is covered by the round we led.
            return result;
        }
    }
    // ANCHOR_END: sync

    fn lock(&self) -> MutexGuard<'_, Rounds> {
        self.rounds
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The directories being synced now, each with its rounds. An entry is dropped when
/// no thread holds it any more, so the map stays as small as the set of busy
/// directories.
fn directories() -> &'static Mutex<HashMap<PathBuf, Arc<GroupSync>>> {
    static DIRECTORIES: OnceLock<Mutex<HashMap<PathBuf, Arc<GroupSync>>>> = OnceLock::new();
    DIRECTORIES.get_or_init(Default::default)
}

// ANCHOR: sync_directory
/// Syncs `dir` (with `fsync`), in a group with every other thread syncing it now.
pub fn sync_directory(dir: &Path, fsync: impl FnOnce() -> io::Result<()>) -> io::Result<()> {
    let lock = || {
        directories()
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    };
    let group = lock().entry(dir.to_path_buf()).or_default().clone();
    let result = group.sync(fsync);
    let mut map = lock();
    // Only the map and we hold it: nobody else is syncing this directory. We let go
    // of it while the map is locked, as every caller does, so that of two callers
    // leaving at once the second sees the first one gone.
    let last = Arc::strong_count(&group) == 2;
    drop(group);
    if last {
        map.remove(dir);
    }
    result
}
// ANCHOR_END: sync_directory

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc::{self, Sender};
    use std::thread::{self, JoinHandle};
    use std::time::Duration;

    /// A caller whose fsync has begun and is held up until `release` is sent: the
    /// moment in which the other callers of a test arrive. `count` runs as its fsync
    /// begins.
    fn held_leader(
        group: &Arc<GroupSync>,
        count: impl FnOnce() + Send + 'static,
    ) -> (JoinHandle<io::Result<()>>, Sender<()>) {
        let (started, leader_started) = mpsc::channel();
        let (release, held) = mpsc::channel::<()>();
        let group = group.clone();
        let leader = thread::spawn(move || {
            group.sync(|| {
                count();
                started.send(()).unwrap();
                held.recv().unwrap();
                Ok(())
            })
        });
        leader_started.recv().unwrap();
        (leader, release)
    }

    /// Waits until `callers` have taken their ticket.
    fn wait_for_tickets(group: &GroupSync, callers: u64) {
        while group.lock().tickets < callers {
            thread::sleep(Duration::from_millis(1));
        }
    }

    /// While one round's fsync is held up, every caller that arrives waits, and the next
    /// round serves all of them with one fsync.
    #[test]
    fn callers_that_arrive_during_an_fsync_share_the_next_one() {
        let group = Arc::new(GroupSync::default());
        let fsyncs = Arc::new(AtomicUsize::new(0));
        let (leader, release) = held_leader(&group, {
            let fsyncs = fsyncs.clone();
            move || {
                fsyncs.fetch_add(1, Ordering::SeqCst);
            }
        });
        let followers: Vec<_> = (0..8)
            .map(|_| {
                let (group, fsyncs) = (group.clone(), fsyncs.clone());
                thread::spawn(move || {
                    group.sync(|| {
                        fsyncs.fetch_add(1, Ordering::SeqCst);
                        Ok(())
                    })
                })
            })
            .collect();
        // Let every follower take its ticket while the first fsync is still running.
        wait_for_tickets(&group, 9);
        release.send(()).unwrap();
        leader.join().unwrap().unwrap();
        for follower in followers {
            follower.join().unwrap().unwrap();
        }
        // One fsync for the leader, one round for all eight followers.
        assert_eq!(fsyncs.load(Ordering::SeqCst), 2);
    }

    /// A caller is never answered by a round that began before it arrived.
    #[test]
    fn a_round_started_before_a_caller_does_not_cover_it() {
        let group = GroupSync::default();
        let mut order = Vec::new();
        group
            .sync(|| {
                order.push("first");
                Ok(())
            })
            .unwrap();
        group
            .sync(|| {
                order.push("second");
                Ok(())
            })
            .unwrap();
        assert_eq!(
            order,
            ["first", "second"],
            "each call after a round needs its own"
        );
    }

    /// A failed round fails every caller it covered, with no fsync of their own; the
    /// next caller gets a round of its own (the disk may have recovered).
    #[test]
    fn a_failed_fsync_fails_every_caller_it_covered() {
        let group = Arc::new(GroupSync::default());
        let fsyncs = Arc::new(AtomicUsize::new(0));
        let (leader, release) = held_leader(&group, || {});
        let followers: Vec<_> = (0..3)
            .map(|_| {
                let (group, fsyncs) = (group.clone(), fsyncs.clone());
                thread::spawn(move || {
                    group.sync(|| {
                        fsyncs.fetch_add(1, Ordering::SeqCst);
                        Err(io::Error::other("disk on fire"))
                    })
                })
            })
            .collect();
        wait_for_tickets(&group, 4);
        release.send(()).unwrap();
        assert!(leader.join().unwrap().is_ok());
        for follower in followers {
            assert!(follower.join().unwrap().is_err());
        }
        assert_eq!(fsyncs.load(Ordering::SeqCst), 1, "one round for the three");
        assert!(
            group.sync(|| Ok(())).is_ok(),
            "a later caller is not failed"
        );
    }

    /// The callers of `sync_directory` for one directory meet in one group: while the
    /// first one's fsync is held up, four more arrive, and one round serves them.
    #[test]
    fn sync_directory_groups_the_callers_of_one_directory() {
        let dir = tempfile::tempdir().unwrap();
        let fsyncs = Arc::new(AtomicUsize::new(0));
        let (started, leader_started) = mpsc::channel();
        let (release, held) = mpsc::channel::<()>();
        let leader = {
            let (path, fsyncs) = (dir.path().to_path_buf(), fsyncs.clone());
            thread::spawn(move || {
                sync_directory(&path, || {
                    fsyncs.fetch_add(1, Ordering::SeqCst);
                    started.send(()).unwrap();
                    held.recv().unwrap();
                    Ok(())
                })
            })
        };
        leader_started.recv().unwrap();
        let followers: Vec<_> = (0..4)
            .map(|_| {
                let (path, fsyncs) = (dir.path().to_path_buf(), fsyncs.clone());
                thread::spawn(move || {
                    sync_directory(&path, || {
                        fsyncs.fetch_add(1, Ordering::SeqCst);
                        Ok(())
                    })
                })
            })
            .collect();
        // The group is in the map while someone syncs; wait for the five tickets
        // (a bounded wait: a group that never fills fails the test, it does not hang).
        let group = directories().lock().unwrap().get(dir.path()).cloned();
        let group = group.expect("the directory's group is in the map while it syncs");
        for _ in 0..10_000 {
            if group.lock().tickets == 5 {
                break;
            }
            thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(
            group.lock().tickets,
            5,
            "the followers joined another group"
        );
        drop(group);
        release.send(()).unwrap();
        leader.join().unwrap().unwrap();
        for follower in followers {
            follower.join().unwrap().unwrap();
        }
        assert_eq!(
            fsyncs.load(Ordering::SeqCst),
            2,
            "the leader's, then one for four"
        );
        assert!(!directories().lock().unwrap().contains_key(dir.path()));
    }

    #[test]
    fn the_map_forgets_a_directory_nobody_syncs() {
        let dir = tempfile::tempdir().unwrap();
        sync_directory(dir.path(), || Ok(())).unwrap();
        assert!(!directories().lock().unwrap().contains_key(dir.path()));
    }
}
