//! `ClientConfig::prepare_ahead`: the next frame's key prepared in the
//! caller's idle time between frames, so that the request path only runs
//! the frame's pass.
//!
//! Only idle time helps. Back to back the preparation runs while the next
//! request's model runs and takes a core from it (1.22-1.29x the plain
//! round trip measured here, against 1.08x when encrypting on the path), so
//! a caller that came back sooner after the last answer than twice what a
//! preparation takes gets no background work: its frames are encrypted on
//! the path until it pauses again (1.08-1.12x back to back, like a client
//! without the option; benches/RESULTS.md).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::encrypt::Encryptor;
use crate::scheme::instahide::PreparedKey;

#[derive(Default)]
pub(super) struct Ahead {
    key: Mutex<Option<PreparedKey>>,
    /// When the last answer went back to the caller.
    answered: Mutex<Option<Instant>>,
    /// How long the last preparation took, in ns (or the last encryption
    /// on the path, the same work); 0 before the first.
    took_ns: AtomicU64,
}

/// A poisoned lock only means a thread panicked while holding it; what it
/// guards is still whole (a key or none, an instant or none).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Ahead {
    pub(super) fn ready(&self) -> bool {
        lock(&self.key).is_some()
    }

    pub(super) fn take(&self) -> Option<PreparedKey> {
        lock(&self.key).take()
    }

    /// Whether the caller paused since the last answer for at least twice
    /// what a preparation takes (true before the first answer): the last
    /// pause predicts whether the next can hold one, and the margin covers
    /// pauses and preparations that vary.
    pub(super) fn caller_paused(&self) -> bool {
        let took = Duration::from_nanos(self.took_ns.load(Ordering::Relaxed));
        lock(&self.answered).is_none_or(|t| t.elapsed() >= 2 * took)
    }

    /// Records how long a preparation (or the same work on the path) took.
    pub(super) fn took(&self, d: Duration) {
        let ns = d.as_nanos().min(u64::MAX as u128) as u64;
        self.took_ns.store(ns, Ordering::Relaxed);
    }

    pub(super) fn answered(&self) {
        *lock(&self.answered) = Some(Instant::now());
    }

    /// Prepares the next frame's key off the request path. A key left by
    /// an earlier call is replaced (and zeroed); a failure leaves none, and
    /// the next frame is encrypted on the path and reports the error.
    pub(super) fn prepare_next(self: &Arc<Self>, encryptor: Arc<Encryptor>) {
        let this = self.clone();
        let work = move || {
            let start = Instant::now();
            let key = encryptor.prepare().ok();
            this.took(start.elapsed());
            *lock(&this.key) = key;
        };
        // Waking a blocking-pool thread is a system call (about 2 us here,
        // paid before `classify` returns). On a multi-thread runtime a task
        // spawned from a worker waits in that worker's own slot without
        // waking anyone, and runs, paying for the wake, once the caller
        // yields, which a camera does between frames. A current-thread
        // runtime (the blocking `Client`'s) runs tasks only inside its next
        // call, so there the thread is woken now.
        use tokio::runtime::{Handle, RuntimeFlavor};
        if Handle::current().runtime_flavor() == RuntimeFlavor::MultiThread {
            drop(tokio::spawn(async {
                drop(tokio::task::spawn_blocking(work));
            }));
        } else {
            drop(tokio::task::spawn_blocking(work));
        }
    }
}
