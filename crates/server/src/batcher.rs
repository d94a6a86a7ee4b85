//! Dynamic batching: requests for one model wait in a bounded queue; one
//! worker takes as many as fit in `max_batch` frames (waiting at most
//! `max_delay` for company) and runs them through the model together. A
//! request of more than `max_batch` frames runs alone, split into batches of
//! at most `max_batch`, so no inference ever exceeds it.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::Model;
use crate::error::{Error, Result};

/// What the worker runs batches through: the model, or a recorder in tests.
pub(crate) trait Infer: Send + Sync + 'static {
    fn classes(&self) -> usize;
    fn logits(&self, batch: Vec<f32>, frames: usize) -> Result<Vec<f32>>;
}

impl Infer for Model {
    fn classes(&self) -> usize {
        Model::classes(self)
    }
    fn logits(&self, batch: Vec<f32>, frames: usize) -> Result<Vec<f32>> {
        Model::logits(self, batch, frames)
    }
}

struct Job {
    data: Vec<f32>,
    frames: usize,
    reply: oneshot::Sender<Result<Vec<f32>>>,
}

/// The queue is full (answer 503) or the worker has stopped.
#[derive(Debug)]
pub(crate) struct Busy;

#[derive(Clone)]
pub(crate) struct Batcher {
    tx: mpsc::Sender<Job>,
}

impl Batcher {
    /// Starts the worker on the current tokio runtime.
    pub(crate) fn start<M: Infer>(
        model: Arc<M>,
        max_batch: usize,
        max_delay: Duration,
        queue: usize,
    ) -> Batcher {
        let (tx, rx) = mpsc::channel(queue.max(1));
        tokio::spawn(run(model, rx, max_batch.max(1), max_delay));
        Batcher { tx }
    }

    /// Queues `frames` tensors laid end to end; the receiver gets their
    /// logits. Never waits: a full queue is [`Busy`] at once.
    pub(crate) fn submit(
        &self,
        data: Vec<f32>,
        frames: usize,
    ) -> std::result::Result<oneshot::Receiver<Result<Vec<f32>>>, Busy> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .try_send(Job {
                data,
                frames,
                reply,
            })
            .map_err(|_| Busy)?;
        Ok(rx)
    }
}

async fn run<M: Infer>(
    model: Arc<M>,
    mut rx: mpsc::Receiver<Job>,
    max_batch: usize,
    delay: Duration,
) {
    let mut carried: Option<Job> = None;
    // Bytes of tensors handled since the queue was last empty.
    let mut since_idle = 0usize;
    loop {
        let first = match carried.take() {
            Some(job) => job,
            None => match rx.try_recv() {
                Ok(job) => job,
                Err(_) => {
                    if since_idle > TRIM_AFTER {
                        release_freed_memory();
                    }
                    since_idle = 0;
                    match rx.recv().await {
                        Some(job) => job,
                        None => return, // every sender is gone: the server has stopped
                    }
                }
            },
        };
        if first.frames > max_batch {
            since_idle += first.data.len() * 4;
            run_split(&model, first, max_batch).await;
            continue;
        }
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
            if frames + job.frames > max_batch {
                carried = Some(job);
                break;
            }
            frames += job.frames;
            jobs.push(job);
        }
        // Requests whose caller gave up (timeout, closed connection) are not run.
        jobs.retain(|j| !j.reply.is_closed());
        if jobs.is_empty() {
            continue;
        }
        let frames: usize = jobs.iter().map(|j| j.frames).sum();
        let mut batch = Vec::with_capacity(jobs.iter().map(|j| j.data.len()).sum());
        for job in &mut jobs {
            batch.append(&mut job.data);
        }
        since_idle += batch.len() * 4;
        match infer(&model, batch, frames).await {
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
    }
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

/// A request larger than a batch, in batches of at most `max_batch` frames;
/// it stops early when its caller has gone.
async fn run_split<M: Infer>(model: &Arc<M>, mut job: Job, max_batch: usize) {
    let per_frame = job.data.len() / job.frames.max(1);
    let data = std::mem::take(&mut job.data);
    let mut logits = Vec::with_capacity(job.frames * model.classes());
    for chunk in data.chunks(max_batch * per_frame.max(1)) {
        if job.reply.is_closed() {
            return;
        }
        let frames = chunk.len() / per_frame.max(1);
        match infer(model, chunk.to_vec(), frames).await {
            Ok(mut l) => logits.append(&mut l),
            Err(e) => {
                let _ = job.reply.send(Err(e));
                return;
            }
        }
    }
    let _ = job.reply.send(Ok(logits));
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
        assert!(batches.iter().all(|&n| n <= 4), "{batches:?}");
        assert_eq!(batches.iter().sum::<usize>(), 13);
        assert_eq!(&batches[..3], &[4, 4, 2]);
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
