//! Ready threads: a pool that keeps idle threads waiting, so a new client is handed to a
//! thread that already exists instead of waiting for one to be born.
//!
//! It is the `ThreadPool` of the Rust book's last chapter, with the two changes a server
//! with a connection cap needs:
//! - **It grows.** A client never waits behind another: when every thread is busy, a
//!   new one is started for the newcomer, up to the connection cap (which the
//!   listeners enforce before they ask for a thread).
//! - **It shrinks.** A thread that has waited `idle` without a client ends, so a burst
//!   of clients does not leave a thousand stacks behind.
//!
//! One thread still serves one client from the greeting to the goodbye: the pool only
//! decides *which* thread, and a thread takes its next client only after the last one
//! has gone. "This thread is this client" stays true for the whole conversation.
//!
//! Left out: a fixed number of threads (a client would wait behind another), and work
//! stealing or queues per core (a job here is a whole conversation, not a task).

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

// ANCHOR: threads
/// How each client gets the thread that serves it from greeting to goodbye.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Threads {
    /// A thread that is already waiting, from a pool that grows up to the connection
    /// cap and shrinks when idle (the default).
    Pool,
    /// A new thread for every client, ended when it leaves: the simplest way, and
    /// the one the book starts with.
    Spawn,
}
// ANCHOR_END: threads

/// One client's whole conversation, as a thread runs it.
pub type Job = Box<dyn FnOnce() + Send + 'static>;

// ANCHOR: pool
/// Threads that wait for clients.
#[derive(Clone)]
pub struct Pool {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    /// Rung when a job is queued for a waiting thread, or when the pool closes.
    job_ready: Condvar,
    /// Each thread's stack size.
    stack: usize,
    /// How long a thread waits for a client before it ends.
    idle: Duration,
    /// The name threads are given, with a number after it.
    name: String,
}

#[derive(Default)]
struct State {
    /// Jobs handed to the pool that no thread has taken yet.
    jobs: VecDeque<Job>,
    /// Threads waiting for a job.
    waiting: usize,
    /// Threads alive, waiting or working.
    threads: usize,
    /// Started so far, to number their names.
    started: u64,
    closed: bool,
}
// ANCHOR_END: pool

impl Pool {
    /// A pool with no thread yet; threads get `stack` bytes and end after `idle`
    /// without a client.
    pub fn new(name: &str, stack: usize, idle: Duration) -> Pool {
        Pool {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                job_ready: Condvar::new(),
                stack,
                idle,
                name: name.to_string(),
            }),
        }
    }

    // ANCHOR: execute
    /// Runs `job` on a waiting thread, or on a new one when none is waiting.
    pub fn execute(&self, job: Job) -> io::Result<()> {
        let mut state = self.shared.lock();
        if state.closed {
            return Err(io::Error::other("the thread pool is closed"));
        }
        // A waiting thread that no queued job has claimed yet takes this one.
        if state.jobs.len() < state.waiting {
            state.jobs.push_back(job);
            drop(state);
            self.shared.job_ready.notify_one();
            return Ok(());
        }
        // Every thread is busy: a new one, which starts with this job.
        state.threads += 1;
        state.started += 1;
        let name = format!("{} {}", self.shared.name, state.started);
        drop(state);
        let shared = self.shared.clone();
        let spawned = thread::Builder::new()
            .name(name)
            .stack_size(self.shared.stack)
            .spawn(move || shared.work(job));
        if spawned.is_err() {
            self.shared.lock().threads -= 1;
        }
        spawned.map(|_| ())
    }
    // ANCHOR_END: execute

    /// Ends every waiting thread now, and each working one when its job is done.
    pub fn close(&self) {
        self.shared.lock().closed = true;
        self.shared.job_ready.notify_all();
    }

    /// Threads alive (waiting or working), and how many of them are waiting.
    pub fn threads(&self) -> (usize, usize) {
        let state = self.shared.lock();
        (state.threads, state.waiting)
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Jobs run outside the lock, so a panicking job cannot leave the state half done.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    // ANCHOR: work
    /// A thread's life: its first job, then each job it is handed, until it has
    /// waited `idle` for nothing or the pool closes.
    fn work(&self, first: Job) {
        let mut job = first;
        loop {
            run(job);
            let mut state = self.lock();
            state.waiting += 1;
            (state, _) = self
                .job_ready
                .wait_timeout_while(state, self.idle, |s| s.jobs.is_empty() && !s.closed)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            state.waiting -= 1;
            match state.jobs.pop_front() {
                Some(next) => job = next,
                // Waited `idle` for nothing, or the pool closed: this thread ends.
                None => {
                    state.threads -= 1;
                    return;
                }
            }
        }
    }
    // ANCHOR_END: work
}

/// Runs one job; a panic in it ends that conversation, not the thread or the pool.
fn run(job: Job) {
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).is_err() {
        log::error!("a client's thread panicked; the connection is closed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Instant;

    fn wait_for(mut done: impl FnMut() -> bool) {
        let start = Instant::now();
        while !done() {
            assert!(start.elapsed() < Duration::from_secs(10), "timed out");
            thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn a_waiting_thread_takes_the_next_job_and_none_waits_behind_another() {
        let pool = Pool::new("test", 64 * 1024, Duration::from_secs(30));
        let (tx, rx) = mpsc::channel();
        // Two jobs that block until told: two threads, since neither may wait.
        let (release_a, wait_a) = mpsc::channel::<()>();
        let (release_b, wait_b) = mpsc::channel::<()>();
        for (name, wait) in [("a", wait_a), ("b", wait_b)] {
            let tx = tx.clone();
            pool.execute(Box::new(move || {
                let _ = wait.recv();
                tx.send((name, thread::current().name().map(String::from)))
                    .unwrap();
            }))
            .unwrap();
        }
        assert_eq!(pool.threads(), (2, 0));
        release_a.send(()).unwrap();
        let (_, first_thread) = rx.recv().unwrap();
        wait_for(|| pool.threads() == (2, 1));
        // The next job goes to the thread that is waiting, not to a new one.
        let tx2 = tx.clone();
        pool.execute(Box::new(move || {
            tx2.send(("c", thread::current().name().map(String::from)))
                .unwrap();
        }))
        .unwrap();
        let (name, thread) = rx.recv().unwrap();
        assert_eq!((name, thread), ("c", first_thread));
        assert_eq!(pool.threads().0, 2);
        release_b.send(()).unwrap();
        rx.recv().unwrap();
        pool.close();
        wait_for(|| pool.threads() == (0, 0));
    }

    #[test]
    fn idle_threads_end_after_the_idle_time() {
        let pool = Pool::new("test", 64 * 1024, Duration::from_millis(50));
        for _ in 0..3 {
            pool.execute(Box::new(|| thread::sleep(Duration::from_millis(20))))
                .unwrap();
        }
        assert_eq!(pool.threads().0, 3);
        wait_for(|| pool.threads() == (0, 0));
    }

    #[test]
    fn a_panicking_job_leaves_the_pool_working() {
        let pool = Pool::new("test", 64 * 1024, Duration::from_secs(30));
        pool.execute(Box::new(|| panic!("a bug in one conversation")))
            .unwrap();
        wait_for(|| pool.threads() == (1, 1));
        let (tx, rx) = mpsc::channel();
        pool.execute(Box::new(move || tx.send(42).unwrap()))
            .unwrap();
        assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Ok(42));
        assert_eq!(pool.threads().0, 1);
        pool.close();
        assert!(pool.execute(Box::new(|| {})).is_err());
    }
}
