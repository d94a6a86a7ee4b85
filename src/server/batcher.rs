//! Dynamic batching: requests for one model wait in a bounded queue; one
//! worker takes as many as fit in `max_batch` frames (waiting at most
//! `max_delay` for company) and runs them through the model together.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::error::{Error, Result};
use crate::infer::Model;

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
    pub(crate) fn start(
        model: Arc<Model>,
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

async fn run(model: Arc<Model>, mut rx: mpsc::Receiver<Job>, max_batch: usize, delay: Duration) {
    let mut carried: Option<Job> = None;
    loop {
        let first = match carried.take() {
            Some(job) => job,
            None => match rx.recv().await {
                Some(job) => job,
                None => return, // every sender is gone: the server has stopped
            },
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
        let m = model.clone();
        let result = tokio::task::spawn_blocking(move || m.logits(batch, frames))
            .await
            .unwrap_or_else(|e| Err(Error::Runtime(format!("inference task failed: {e}"))));
        match result {
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
