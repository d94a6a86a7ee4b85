//! Dynamic batching: requests for one model wait in a bounded queue; one
//! worker takes as many as fit in `max_batch` frames (waiting at most
//! `max_delay` for company) and runs them through the model together.
//!
//! A request of more than `max_batch` frames runs in batches of at most
//! `max_batch`, one batch at a time, taking turns with the other requests:
//! a small request waits behind it for one batch at most, and no inference
//! ever exceeds `max_batch`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};

use crate::Model;
use crate::error::{Error, Result};

/// What the worker runs batches through: the model, or a recorder in tests.
pub(crate) trait Infer: Send + Sync + 'static {
    fn classes(&self) -> usize;
    fn logits(&self, batch: Vec<f32>, frames: usize) -> Result<Vec<f32>>;
    /// Hands back memory kept for large batches; called when a burst is over.
    fn release_memory(&self) {}
}

impl Infer for Model {
    fn classes(&self) -> usize {
        Model::classes(self)
    }
    fn logits(&self, batch: Vec<f32>, frames: usize) -> Result<Vec<f32>> {
        Model::logits(self, batch, frames)
    }
    fn release_memory(&self) {
        if let Err(e) = Model::release_memory(self) {
            tracing::warn!("releasing the model's idle memory: {e}");
        }
    }
}

struct Job {
    data: Vec<f32>,
    frames: usize,
    reply: oneshot::Sender<Result<Vec<f32>>>,
    /// The request's place in the queue, given back when it is answered or
    /// dropped; held also while the worker runs it, so split requests count.
    _place: OwnedSemaphorePermit,
}

/// The queue is full (answer 503) or the worker has stopped.
#[derive(Debug)]
pub(crate) struct Busy;

#[derive(Clone)]
pub(crate) struct Batcher {
    tx: mpsc::UnboundedSender<Job>,
    places: Arc<Semaphore>,
}

impl Batcher {
    /// Starts the worker on the current tokio runtime; at most `queue`
    /// requests wait or run at once.
    pub(crate) fn start<M: Infer>(
        model: Arc<M>,
        max_batch: usize,
        max_delay: Duration,
        queue: usize,
    ) -> Batcher {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(model, rx, max_batch.max(1), max_delay));
        Batcher {
            tx,
            places: Arc::new(Semaphore::new(queue.max(1))),
        }
    }

    /// Queues `frames` tensors laid end to end; the receiver gets their
    /// logits. Never waits: a full queue is [`Busy`] at once.
    pub(crate) fn submit(
        &self,
        data: Vec<f32>,
        frames: usize,
    ) -> std::result::Result<oneshot::Receiver<Result<Vec<f32>>>, Busy> {
        let place = self.places.clone().try_acquire_owned().map_err(|_| Busy)?;
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Job {
                data,
                frames,
                reply,
                _place: place,
            })
            .map_err(|_| Busy)?;
        Ok(rx)
    }
}

/// A request larger than a batch, part way through.
struct Split {
    job: Job,
    done: usize,
    logits: Vec<f32>,
}

async fn run<M: Infer>(
    model: Arc<M>,
    mut rx: mpsc::UnboundedReceiver<Job>,
    max_batch: usize,
    delay: Duration,
) {
    let mut carried: Option<Job> = None;
    let mut splits: VecDeque<Split> = VecDeque::new();
    // Bytes of tensors handled since the queue was last empty.
    let mut since_idle = 0usize;
    loop {
        let first = match carried.take().or_else(|| rx.try_recv().ok()) {
            Some(job) if job.frames > max_batch => {
                splits.push_back(Split::new(job, model.classes()));
                continue;
            }
            Some(job) => job,
            None if !splits.is_empty() => {
                since_idle += advance(&model, &mut splits, max_batch).await;
                continue;
            }
            None => {
                if since_idle > TRIM_AFTER {
                    let m = model.clone();
                    let _ = tokio::task::spawn_blocking(move || {
                        m.release_memory();
                        release_freed_memory();
                    })
                    .await;
                }
                since_idle = 0;
                match rx.recv().await {
                    Some(job) => {
                        carried = Some(job);
                        continue;
                    }
                    None => return, // every sender is gone: the server has stopped
                }
            }
        };
        let mut frames = first.frames;
        let mut jobs = vec![first];
        let deadline = tokio::time::Instant::now() + delay;
        while frames < max_batch {
            let next = match rx.try_recv() {
                Ok(job) => Some(job),
                Err(mpsc::error::TryRecvError::Empty) if !delay.is_zero() => {
                    tokio::time::timeout_at(deadline, rx.recv())
                        .await
                        .ok()
                        .flatten()
                }
                Err(_) => None,
            };
            let Some(job) = next else { break };
            if job.frames > max_batch {
                splits.push_back(Split::new(job, model.classes()));
                continue;
            }
            if frames + job.frames > max_batch {
                carried = Some(job);
                break;
            }
            frames += job.frames;
            jobs.push(job);
        }
        since_idle += run_batch(&model, jobs).await;
        // Take turns: one batch of a split request after each batch of others.
        if !splits.is_empty() {
            since_idle += advance(&model, &mut splits, max_batch).await;
        }
    }
}

/// Runs requests that fit in one batch together; returns the tensor bytes.
async fn run_batch<M: Infer>(model: &Arc<M>, mut jobs: Vec<Job>) -> usize {
    // Requests whose caller gave up (timeout, closed connection) are not run.
    jobs.retain(|j| !j.reply.is_closed());
    if jobs.is_empty() {
        return 0;
    }
    let frames: usize = jobs.iter().map(|j| j.frames).sum();
    let mut batch = Vec::with_capacity(jobs.iter().map(|j| j.data.len()).sum());
    for job in &mut jobs {
        batch.append(&mut job.data);
    }
    let bytes = batch.len() * 4;
    match infer(model, batch, frames).await {
        Ok(logits) => {
            let per = model.classes();
            let mut at = 0;
            for job in jobs {
                let end = at + job.frames * per;
                let _ = job.reply.send(Ok(logits[at..end].to_vec()));
                at = end;
            }
        }
        Err(e) => {
            let msg = e.to_string();
            for job in jobs {
                let _ = job.reply.send(Err(Error::Runtime(msg.clone())));
            }
        }
    }
    bytes
}

impl Split {
    fn new(job: Job, classes: usize) -> Split {
        let logits = Vec::with_capacity(job.frames * classes);
        Split {
            job,
            done: 0,
            logits,
        }
    }
}

/// Runs the next batch of the oldest split request, then sends it to the
/// back of the line (answered, or dropped when its caller has gone);
/// returns the tensor bytes.
async fn advance<M: Infer>(
    model: &Arc<M>,
    splits: &mut VecDeque<Split>,
    max_batch: usize,
) -> usize {
    let Some(mut split) = splits.pop_front() else {
        return 0;
    };
    if split.job.reply.is_closed() {
        return 0;
    }
    let per_frame = split.job.data.len() / split.job.frames;
    let n = max_batch.min(split.job.frames - split.done);
    let chunk = split.job.data[split.done * per_frame..(split.done + n) * per_frame].to_vec();
    let bytes = chunk.len() * 4;
    match infer(model, chunk, n).await {
        Ok(mut l) => {
            split.logits.append(&mut l);
            split.done += n;
            if split.done == split.job.frames {
                let _ = split.job.reply.send(Ok(split.logits));
            } else {
                splits.push_back(split);
            }
        }
        Err(e) => {
            let _ = split.job.reply.send(Err(e));
        }
    }
    bytes
}

/// Tensor bytes after which an idle worker hands freed memory back.
const TRIM_AFTER: usize = 8 << 20;

/// Returns the allocator's freed pages to the system once a burst is over:
/// glibc keeps what a burst of large batches freed in its arenas, so
/// resident memory would otherwise stay at the burst's peak.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory; no pointer changes.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// One batch through the model, off the async workers.
async fn infer<M: Infer>(model: &Arc<M>, batch: Vec<f32>, frames: usize) -> Result<Vec<f32>> {
    let m = model.clone();
    tokio::task::spawn_blocking(move || m.logits(batch, frames))
        .await
        .unwrap_or_else(|e| Err(Error::Runtime(format!("inference task failed: {e}"))))
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Records each batch's size and answers frame i of a batch with logits
    /// [first value of the frame, 0].
    #[derive(Default)]
    struct Recorder {
        batches: Mutex<Vec<usize>>,
    }

    impl Infer for Recorder {
        fn classes(&self) -> usize {
            2
        }
        fn logits(&self, batch: Vec<f32>, frames: usize) -> Result<Vec<f32>> {
            self.batches.lock().unwrap().push(frames);
            let per = batch.len() / frames;
            Ok(batch.chunks(per).flat_map(|f| [f[0], 0.0]).collect())
        }
    }

    fn frames(first: usize, n: usize) -> Vec<f32> {
        (first..first + n).flat_map(|i| [i as f32; 3]).collect()
    }

    #[tokio::test]
    async fn a_request_larger_than_max_batch_is_split_and_answered_in_order() {
        let rec = Arc::new(Recorder::default());
        let b = Batcher::start(rec.clone(), 4, Duration::ZERO, 8);
        let big = b.submit(frames(0, 10), 10).unwrap();
        let small = b.submit(frames(100, 3), 3).unwrap();
        let big = big.await.unwrap().unwrap();
        let small = small.await.unwrap().unwrap();
        let firsts: Vec<f32> = big.chunks(2).map(|l| l[0]).collect();
        assert_eq!(firsts, (0..10).map(|i| i as f32).collect::<Vec<_>>());
        assert_eq!(
            small.chunks(2).map(|l| l[0]).collect::<Vec<_>>(),
            [100.0, 101.0, 102.0]
        );
        let batches = rec.batches.lock().unwrap().clone();
        // Queued together, the small request goes first; the big one follows
        // in batches of at most 4.
        assert_eq!(batches, [3, 4, 4, 2]);
    }

    /// Holds the first batch until the test lets it go, so that requests can
    /// be queued while a batch runs.
    struct Gated {
        rec: Recorder,
        started: Mutex<Option<std::sync::mpsc::Sender<()>>>,
        gate: Mutex<Option<std::sync::mpsc::Receiver<()>>>,
    }

    impl Infer for Gated {
        fn classes(&self) -> usize {
            2
        }
        fn logits(&self, batch: Vec<f32>, frames: usize) -> Result<Vec<f32>> {
            if let Some(started) = self.started.lock().unwrap().take() {
                started.send(()).unwrap();
                let gate = self.gate.lock().unwrap().take().unwrap();
                gate.recv().unwrap();
            }
            self.rec.logits(batch, frames)
        }
    }

    #[tokio::test]
    async fn a_small_request_waits_at_most_one_batch_behind_large_ones() {
        let (started_tx, started) = std::sync::mpsc::channel();
        let (release, gate) = std::sync::mpsc::channel();
        let model = Arc::new(Gated {
            rec: Recorder::default(),
            started: Mutex::new(Some(started_tx)),
            gate: Mutex::new(Some(gate)),
        });
        let b = Batcher::start(model.clone(), 4, Duration::ZERO, 8);
        let big1 = b.submit(frames(0, 40), 40).unwrap();
        tokio::task::spawn_blocking(move || started.recv().unwrap())
            .await
            .unwrap();
        // The first big request's first batch is running now.
        let big2 = b.submit(frames(1000, 40), 40).unwrap();
        let small = b.submit(frames(100, 1), 1).unwrap();
        release.send(()).unwrap();
        let small = small.await.unwrap().unwrap();
        assert_eq!(small[0], 100.0);
        let big1 = big1.await.unwrap().unwrap();
        let big2 = big2.await.unwrap().unwrap();
        assert_eq!(
            big1.chunks(2).map(|l| l[0]).collect::<Vec<_>>(),
            (0..40).map(|i| i as f32).collect::<Vec<_>>()
        );
        assert_eq!(big2[2 * 39], 1039.0);
        let batches = model.rec.batches.lock().unwrap().clone();
        assert_eq!(&batches[..2], &[4, 1], "{batches:?}");
        assert!(batches.iter().all(|&n| n <= 4), "{batches:?}");
        assert_eq!(batches.iter().sum::<usize>(), 81);
    }

    #[tokio::test]
    async fn split_requests_hold_their_place_in_the_queue() {
        let rec = Arc::new(Recorder::default());
        let b = Batcher::start(rec, 2, Duration::ZERO, 2);
        let _a = b.submit(frames(0, 5), 5).unwrap();
        let _b = b.submit(frames(0, 5), 5).unwrap();
        assert!(b.submit(frames(0, 1), 1).is_err());
    }

    #[tokio::test]
    async fn queued_requests_share_a_batch_up_to_max_batch() {
        let rec = Arc::new(Recorder::default());
        let b = Batcher::start(rec.clone(), 5, Duration::from_millis(50), 8);
        let rxs: Vec<_> = (0..4)
            .map(|i| b.submit(frames(10 * i, 2), 2).unwrap())
            .collect();
        for (i, rx) in rxs.into_iter().enumerate() {
            let l = rx.await.unwrap().unwrap();
            assert_eq!(l[0], (10 * i) as f32);
        }
        let batches = rec.batches.lock().unwrap().clone();
        assert!(batches.iter().all(|&n| n <= 5), "{batches:?}");
        assert_eq!(batches.iter().sum::<usize>(), 8);
    }
}
