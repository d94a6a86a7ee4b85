//! The known-plaintext attack on DisguisedNets: from a few frames the
//! attacker knows together with their disguises, recover where each block
//! went and the matrix it was multiplied by, then undo the disguise of
//! frames it does not know.
//!
//! For every output block position `q` and candidate source position `p`,
//! the known frames' blocks at `p` (rows stacked into `X`, `n b x b`) and
//! their disguises at `q` (`Y`) give the least-squares orthogonal fit
//! `R = argmin ||X R - Y||` over orthogonal `R` (Procrustes: `R = U V^T`
//! from the SVD `X^T Y = U S V^T`; the scheme's matrices are orthogonal and
//! the scheme is public), with residual `||X||^2 + ||Y||^2 - 2 tr S`. Each
//! `q` takes the `p` of least residual. With one pair an unconstrained
//! least-squares fit would match every `p` exactly (a square `X` is
//! invertible); the orthogonal fit does not. Blocks that are flat in every
//! known frame (a black background) cannot be told apart, which is what more
//! pairs fix.

use edgehide::{Encryptor, PlainTensor, Preprocessor};
use nalgebra::DMatrix;
use rayon::prelude::*;

use super::Summary;
use super::baseline::unit_pixels;
use super::ssim::ssim;
use crate::dataset::Dataset;
use crate::{Error, Result};

/// One row of the attack's table.
#[derive(Clone, Debug)]
pub struct KnownPlaintextResult {
    /// Known image/disguise pairs.
    pub pairs: usize,
    /// SSIM of the undone test frames against the originals.
    pub ssim: Summary,
}

/// The block geometry of a disguise.
#[derive(Clone, Copy)]
struct Blocks {
    block: usize,
    cols: usize,
    positions: usize,
    width: usize,
    channels: usize,
}

impl Blocks {
    /// Rows of block `p` of every channel of `frame`, stacked.
    fn rows<'a>(&self, frame: &'a [f32], p: usize) -> impl Iterator<Item = &'a [f32]> + use<'a> {
        let (b, w) = (self.block, self.width);
        let (py, px) = ((p / self.cols) * b, (p % self.cols) * b);
        let plane = frame.len() / self.channels;
        (0..self.channels)
            .flat_map(move |c| (0..b).map(move |i| c * plane + (py + i) * w + px))
            .map(move |start| &frame[start..start + b])
    }

    fn stack(&self, frames: &[Vec<f32>], p: usize) -> DMatrix<f64> {
        let rows: Vec<&[f32]> = frames.iter().flat_map(|f| self.rows(f, p)).collect();
        DMatrix::from_fn(rows.len(), self.block, |r, c| rows[r][c] as f64)
    }
}

/// The recovered key: per output position, the source position and the
/// orthogonal fit.
struct Recovered {
    source: Vec<usize>,
    matrices: Vec<DMatrix<f64>>,
}

fn recover(blocks: &Blocks, plain: &[Vec<f32>], disguised: &[Vec<f32>]) -> Recovered {
    let xs: Vec<DMatrix<f64>> = (0..blocks.positions)
        .map(|p| blocks.stack(plain, p))
        .collect();
    let fits: Vec<(usize, DMatrix<f64>)> = (0..blocks.positions)
        .into_par_iter()
        .map(|q| {
            let y = blocks.stack(disguised, q);
            let yy = y.norm_squared();
            let mut best = (
                f64::INFINITY,
                0,
                DMatrix::identity(blocks.block, blocks.block),
            );
            for (p, x) in xs.iter().enumerate() {
                let svd = (x.transpose() * &y).svd(true, true);
                let residual = x.norm_squared() + yy - 2.0 * svd.singular_values.sum();
                if residual < best.0
                    && let (Some(u), Some(v_t)) = (svd.u, svd.v_t)
                {
                    best = (residual, p, u * v_t);
                }
            }
            (best.1, best.2)
        })
        .collect();
    let (source, matrices) = fits.into_iter().unzip();
    Recovered { source, matrices }
}

/// Undoes a disguise with a recovered key: the block at output position `q`
/// times `R^T` goes back to its source position. Positions no output was
/// traced to keep `fill` (the mean of the attacker's known frames).
fn undo(blocks: &Blocks, key: &Recovered, y: &[f32], fill: &[f32]) -> Vec<f32> {
    let (b, w) = (blocks.block, blocks.width);
    let plane = y.len() / blocks.channels;
    let mut x = fill.to_vec();
    for (q, (&p, r)) in key.source.iter().zip(&key.matrices).enumerate() {
        let (qy, qx) = ((q / blocks.cols) * b, (q % blocks.cols) * b);
        let (py, px) = ((p / blocks.cols) * b, (p % blocks.cols) * b);
        for c in 0..blocks.channels {
            for i in 0..b {
                let row = &y[c * plane + (qy + i) * w + qx..][..b];
                for l in 0..b {
                    let v: f64 = (0..b).map(|j| row[j] as f64 * r[(l, j)]).sum();
                    x[c * plane + (py + i) * w + px + l] = v as f32;
                }
            }
        }
    }
    x
}

/// Runs the attack for each number of known pairs (the first training
/// images and their disguises by `pairs_from`: the device itself, or an
/// attacker holding the device's key) on the first `frames` test frames
/// (disguised by `device` once each, fresh noise), scored against the
/// originals with the same SSIM as every other attack.
pub fn known_plaintext_attack(
    pairs_from: &Encryptor,
    device: &Encryptor,
    train: &Dataset,
    test: &Dataset,
    pairs: &[usize],
    frames: usize,
) -> Result<Vec<KnownPlaintextResult>> {
    let spec = device.spec();
    let d = spec.disguise().ok_or_else(|| {
        Error::InvalidOptions(format!("{} is not a DisguisedNets model", spec.name()))
    })?;
    let g = spec.geometry();
    if g.channels != 1 {
        return Err(Error::InvalidOptions(
            "the known-plaintext attack scores 1-channel models".into(),
        ));
    }
    let b = d.block as usize;
    let blocks = Blocks {
        block: b,
        cols: g.width / b,
        positions: (g.height / b) * (g.width / b),
        width: g.width,
        channels: g.channels,
    };
    let most = pairs
        .iter()
        .copied()
        .max()
        .unwrap_or(0)
        .min(train.images.len());
    let frames = frames.min(test.images.len());
    let mut pre = Preprocessor::new(spec);
    let disguise = |by: &Encryptor, xs: &[PlainTensor]| -> Result<Vec<Vec<f32>>> {
        Ok(by
            .encrypt_batch_fresh(xs)?
            .into_iter()
            .map(|e| e.into_data())
            .collect())
    };
    let known = train.preprocess(0..most, &mut pre)?;
    let known_disguised = disguise(pairs_from, &known)?;
    let known: Vec<Vec<f32>> = known.iter().map(|x| x.data().to_vec()).collect();
    let targets = disguise(device, &test.preprocess(0..frames, &mut pre)?)?;
    let (mean, std) = (spec.mean()[0] as f32, spec.std()[0] as f32);
    let mut out = Vec::new();
    for &n in pairs {
        let n = n.min(most);
        let key = recover(&blocks, &known[..n], &known_disguised[..n]);
        let mut fill = vec![0f32; g.len()];
        for x in &known[..n] {
            for (f, v) in fill.iter_mut().zip(x) {
                *f += v / n.max(1) as f32;
            }
        }
        let scores: Vec<f64> = targets
            .par_iter()
            .enumerate()
            .map(|(i, y)| {
                let unit: Vec<f32> = undo(&blocks, &key, y, &fill)
                    .iter()
                    .map(|v| (v * std + mean).clamp(0.0, 1.0))
                    .collect();
                ssim(&unit, &unit_pixels(test, i), g.width, g.height, 1.0).unwrap_or(f64::NAN)
            })
            .collect();
        out.push(KnownPlaintextResult {
            pairs: n,
            ssim: Summary::of(&scores),
        });
    }
    Ok(out)
}
