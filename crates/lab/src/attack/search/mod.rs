//! Single encryption, known corpus: search the crop space for the public
//! image inside |e|.
//!
//! The worst case for one encryption: the attacker holds the device's own
//! corpus and the scheme's parameters and sees one encryption. |e| removes
//! the mask. Fashion-MNIST-like frames are half one background value `b0`
//! (normalised black), and on those pixels `|e| = |l0*b0 + l1*z|` depends
//! only on the public crop `z` and the weights. So for a candidate crop,
//! every likely-background pixel names the one or two private weights that
//! would explain it exactly (a Hough vote): the true crop gathers a sharp
//! peak, a wrong one scatters. The scan is coarse over the crop space (a
//! grid of crop sides and positions, voting on the pixels that are
//! background in most training images), then exhaustive around the best
//! candidates with every pixel. With the crop and weights found, each pixel
//! is `x = (±|e| - l1*z) / l0`; the sign is taken from the valid pixel
//! range, the background value and the already decided neighbours.
//!
//! For k >= 3 the attack looks for one public slot at a time and treats the
//! others as noise around their mean; it finds a slot only where the other
//! public weights are small. A joint search over pairs of crops squares the
//! search space and is not built: the figures for k >= 3 are what this
//! attack does, not a bound on every attack.

use std::time::Instant;

use rayon::prelude::*;
use zeroize::Zeroize;

use edgehide::hazmat::{
    EncryptorHazmat, KeyHazmat, PreparedPool, Slot, SlotMode, SpecHazmat, public_image, slot_mode,
};
use edgehide::{Encryptor, Geometry, Preprocessor};

use super::baseline::{class_means, unit_pixels};
use super::ssim::{Summary, ssim};
use crate::dataset::Dataset;
use crate::error::{Error, Result};

mod hough;
mod precut;
mod scan;

use hough::Weights;
pub use precut::precut_pool;
use scan::Attacker;

/// Settings of [`search_attack`]: how much of the crop space the coarse scan
/// covers, which sets the attack's cost.
#[derive(Clone, Debug)]
pub struct SearchOptions {
    /// Test frames attacked (one encryption each).
    pub frames: usize,
    /// Ratio between consecutive crop sides in the coarse scan.
    pub scale_ratio: f64,
    /// Position stride of the coarse scan, in output pixels.
    pub stride: f64,
    /// Coarse candidates refined exhaustively.
    pub keep: usize,
    /// Likely-background pixels the coarse scan votes with.
    pub background_pixels: usize,
}

impl Default for SearchOptions {
    fn default() -> SearchOptions {
        SearchOptions {
            frames: 100,
            scale_ratio: 1.04,
            stride: 1.0,
            keep: 24,
            background_pixels: 128,
        }
    }
}

/// What the search attack achieved over the attacked frames.
#[derive(Clone, Debug)]
pub struct SearchResult {
    /// Frames where a found crop is one of the key's public images.
    pub identified: f64,
    /// Frames where every public image of the key was found.
    pub all_identified: f64,
    /// Frames the attacker accepted a crop for (the others fall back to the
    /// class mean, which the label gives anyway).
    pub accepted: f64,
    /// Mean |estimated - true| private weight over identified frames.
    pub weight_error: f64,
    /// SSIM of the reconstruction against the frame.
    pub ssim: Summary,
    /// PSNR (dB, pixels in [0, 1]).
    pub psnr: Summary,
    /// SSIM over the identified frames only.
    pub ssim_identified: Summary,
    /// Candidate crops scored per frame by the coarse scan.
    pub candidates: u64,
    /// Wall-clock seconds per frame on one thread.
    pub seconds_per_frame: f64,
}

fn psnr(a: &[f32], b: &[f32]) -> f64 {
    let mse: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| ((x - y) as f64).powi(2))
        .sum::<f64>()
        / a.len() as f64;
    if mse <= 0.0 {
        99.0
    } else {
        (10.0 * (1.0 / mse).log10()).min(99.0)
    }
}

/// Encrypts each of the first `opts.frames` test frames once with a fresh
/// key from `device` and runs the known-corpus search on it. The harness
/// (not the attacker) keeps a copy of each key's public slots to score
/// identification; the attacker sees only |e|, the corpus, the parameters
/// and the public training split.
pub fn search_attack(
    device: &Encryptor,
    train: &Dataset,
    test: &Dataset,
    opts: &SearchOptions,
    progress: impl Fn(usize) + Sync,
) -> Result<SearchResult> {
    let spec = device.spec();
    let g = spec.geometry();
    if g.channels != 1 {
        return Err(Error::InvalidOptions(
            "the search attack handles 1-channel models".into(),
        ));
    }
    let frame = spec.frame_normalisation();
    let b0 = frame.offset[0];
    let white = 255.0 * frame.scale[0] + frame.offset[0];
    let pool = device.prepared_pool()?;
    let affine = *device.pool_affine()?;
    let mu = {
        let sum: f64 = pool.bytes.iter().map(|&b| b as f64).sum();
        (sum / pool.bytes.len().max(1) as f64) as f32 * affine.scale[0] + affine.offset[0]
    };
    let background = likely_background(train, pool, g, opts.background_pixels);
    let class_means: Vec<Vec<f32>> = class_means(train)
        .into_iter()
        .map(|m| m.iter().map(|&u| b0 + u * (white - b0)).collect())
        .collect();
    let attacker = Attacker {
        pool,
        params: spec.params(),
        affine,
        g,
        w: Weights::of(spec.params()),
        b0,
        white,
        mu,
        background,
        class_means,
        opts,
    };
    let n = opts.frames.min(test.images.len());
    let mut pre = Preprocessor::new(spec);
    let xs = test.preprocess(0..n, &mut pre)?;
    let done = std::sync::atomic::AtomicUsize::new(0);
    struct One {
        ssim: f64,
        psnr: f64,
        identified: bool,
        all: bool,
        accepted: bool,
        weight_error: f64,
        scanned: u64,
        seconds: f64,
    }
    let per_frame: Vec<One> = xs
        .par_iter()
        .enumerate()
        .map(|(i, x)| -> Result<One> {
            let key = device.new_key()?;
            let mut truth: Vec<Slot> = key.secret_slots().to_vec();
            let true_l0 = key.secret_weights()[0];
            let e = device.encrypt_cpu(x, key)?;
            let a: Vec<f32> = e.data().iter().map(|v| v.abs()).collect();
            let class = test.labels[i] as usize;
            let start = Instant::now();
            let (recon, found, scanned) = attacker.attack(&a, class);
            let seconds = start.elapsed().as_secs_f64();
            let matches = |s: &Slot| {
                let z = public_image(pool, s, &affine);
                truth.iter().any(|t| {
                    let zt = public_image(pool, t, &affine);
                    let mad: f32 =
                        z.iter().zip(&zt).map(|(u, v)| (u - v).abs()).sum::<f32>() / z.len() as f32;
                    mad < 0.05
                })
            };
            let hits = found
                .as_ref()
                .map_or(0, |f| f.slots.iter().filter(|s| matches(s)).count());
            let identified = hits > 0;
            let all = hits == truth.len();
            truth.zeroize();
            let weight_error = found
                .as_ref()
                .filter(|_| identified)
                .map_or(f64::NAN, |f| (f.peak.l0 - true_l0).abs() as f64);
            let unit = unit_pixels(test, i);
            let s = ssim(&recon, &unit, g.width, g.height, 1.0).unwrap_or(f64::NAN);
            let d = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            progress(d);
            Ok(One {
                ssim: s,
                psnr: psnr(&recon, &unit),
                identified,
                all,
                accepted: found.is_some(),
                weight_error,
                scanned,
                seconds,
            })
        })
        .collect::<Result<_>>()?;
    let count = per_frame.len().max(1) as f64;
    let ssims: Vec<f64> = per_frame.iter().map(|o| o.ssim).collect();
    let psnrs: Vec<f64> = per_frame.iter().map(|o| o.psnr).collect();
    let ident: Vec<f64> = per_frame
        .iter()
        .filter(|o| o.identified)
        .map(|o| o.ssim)
        .collect();
    let errs: Vec<f64> = per_frame
        .iter()
        .map(|o| o.weight_error)
        .filter(|v| v.is_finite())
        .collect();
    Ok(SearchResult {
        identified: per_frame.iter().filter(|o| o.identified).count() as f64 / count,
        all_identified: per_frame.iter().filter(|o| o.all).count() as f64 / count,
        accepted: per_frame.iter().filter(|o| o.accepted).count() as f64 / count,
        weight_error: if errs.is_empty() {
            f64::NAN
        } else {
            errs.iter().sum::<f64>() / errs.len() as f64
        },
        ssim: Summary::of(&ssims),
        psnr: Summary::of(&psnrs),
        ssim_identified: Summary::of(&ident),
        candidates: per_frame.first().map_or(0, |o| o.scanned),
        seconds_per_frame: per_frame.iter().map(|o| o.seconds).sum::<f64>() / count,
    })
}

/// The `n` pixel positions whose votes say most: often exactly black in the
/// training frames (so the equation holds there) and often not black in the
/// corpus's model-sized images (where both are black a pixel says nothing;
/// photo crops are taken as never black).
fn likely_background(train: &Dataset, pool: &PreparedPool, g: Geometry, n: usize) -> Vec<usize> {
    let len = g.width * g.height;
    let frames = train.images.len().min(20_000);
    let mut black = vec![0u32; len];
    for img in &train.images[..frames] {
        for (z, &p) in black.iter_mut().zip(img.pixels()) {
            *z += (p == 0) as u32;
        }
    }
    let mut ink = vec![0u32; len];
    let mut sized = 0u32;
    for e in pool.entries.iter().take(20_000) {
        if slot_mode(e.width, e.height, g) == SlotMode::Shift {
            sized += 1;
            let src = &pool.bytes[e.offset as usize..][..len];
            for (i, &p) in ink.iter_mut().zip(src) {
                *i += (p != 0) as u32;
            }
        }
    }
    let score = |p: usize| {
        let bg = black[p] as f64 / frames.max(1) as f64;
        let other = if sized == 0 {
            1.0
        } else {
            ink[p] as f64 / sized as f64
        };
        bg * other
    };
    let mut idx: Vec<usize> = (0..len).filter(|&p| score(p) > 0.0).collect();
    idx.sort_by(|&p, &q| score(q).total_cmp(&score(p)));
    idx.truncate(n.max(1));
    idx
}
