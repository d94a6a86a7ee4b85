//! Accuracy of a model on encryptions of a labelled dataset, through the
//! whole client pipeline: preprocess, fresh key, encrypt, (f16 round trip),
//! inference.

use edgehide::{Encryptor, Preprocessor};
pub use edgehide_oip::Payload;
use edgehide_server::Model;

use crate::Result;
use crate::dataset::Dataset;

/// Correct predictions out of a total, with a 95% Wilson interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Accuracy {
    /// Correct predictions.
    pub correct: usize,
    /// Images evaluated.
    pub total: usize,
}

impl Accuracy {
    /// The fraction correct.
    pub fn value(&self) -> f64 {
        self.correct as f64 / self.total.max(1) as f64
    }
    /// The 95% Wilson score interval.
    pub fn interval95(&self) -> (f64, f64) {
        let (n, p, z) = (self.total.max(1) as f64, self.value(), 1.959964);
        let denom = 1.0 + z * z / n;
        let centre = (p + z * z / (2.0 * n)) / denom;
        let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / denom;
        (centre - half, centre + half)
    }
}

/// Settings of one evaluation.
#[derive(Clone, Copy, Debug)]
pub struct EvalOptions {
    /// Images from the start of the split (all when `None`).
    pub limit: Option<usize>,
    /// Encryptions per image, each with a fresh key; their softmax outputs are
    /// averaged (the reference authors' advice; more encryptions of one frame
    /// help attacks too).
    pub t: usize,
    /// What precision the encryptions travel in (f16 is rounded on the way).
    pub payload: Payload,
    /// Images per inference batch.
    pub batch: usize,
    /// Send the preprocessed frames unencrypted (plaintext baselines only).
    pub plain: bool,
}

/// Runs the pipeline on a split; `progress` is called with images done.
pub fn evaluate(
    model: &Model,
    enc: &Encryptor,
    data: &Dataset,
    opts: EvalOptions,
    mut progress: impl FnMut(usize),
) -> Result<Accuracy> {
    let n = opts.limit.unwrap_or(usize::MAX).min(data.images.len());
    let classes = model.classes();
    let t = opts.t.max(1);
    let mut pre = Preprocessor::new(enc.spec());
    let mut correct = 0;
    for start in (0..n).step_by(opts.batch.max(1)) {
        let end = (start + opts.batch.max(1)).min(n);
        let frames = data.preprocess(start..end, &mut pre)?;
        let mut probs = vec![0f64; frames.len() * classes];
        for _ in 0..t {
            let tensors: Vec<Vec<f32>> = if opts.plain {
                frames.iter().map(|x| x.data().to_vec()).collect()
            } else {
                enc.encrypt_batch_fresh(&frames)?
                    .into_iter()
                    .map(|e| e.into_data())
                    .collect()
            };
            let batch: Vec<f32> = tensors
                .iter()
                .flatten()
                .map(|&v| opts.payload.round_trip(v))
                .collect();
            let logits = model.logits(batch, frames.len())?;
            for (l, p) in logits
                .chunks_exact(classes)
                .zip(probs.chunks_exact_mut(classes))
            {
                for (acc, q) in p.iter_mut().zip(edgehide::softmax(l)) {
                    *acc += q as f64;
                }
            }
        }
        for (i, p) in probs.chunks_exact(classes).enumerate() {
            let best = p
                .iter()
                .enumerate()
                .fold(0, |b, (j, &v)| if v > p[b] { j } else { b });
            correct += (best == data.labels[start + i] as usize) as usize;
        }
        progress(end);
    }
    Ok(Accuracy { correct, total: n })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_interval_matches_known_values() {
        // 90 of 100: the standard Wilson 95% interval is [0.8256, 0.9448].
        let (lo, hi) = Accuracy {
            correct: 90,
            total: 100,
        }
        .interval95();
        assert!(
            (lo - 0.8256).abs() < 1e-4 && (hi - 0.9448).abs() < 1e-4,
            "{lo} {hi}"
        );
    }
}
