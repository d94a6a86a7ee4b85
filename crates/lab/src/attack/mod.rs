//! Attacks on our own encryptions, to measure what they leak.
//! Every figure is held against the label-only baseline ([`baseline`]),
//! since the server learns the class anyway.

pub mod decoder;
pub mod known_plaintext;
pub mod search;

pub use crate::score::{baseline, ssim};

use edgehide::{Encryptor, PlainTensor, Preprocessor};

use crate::Result;
use crate::dataset::Dataset;

pub use ssim::Summary;

/// Scores of the averaging attack for one T.
#[derive(Clone, Debug)]
pub struct AveragingResult {
    /// Encryptions of each frame averaged.
    pub t: usize,
    /// Calibrated decoder (no corpus knowledge, class known).
    pub calibrated: Summary,
    /// Calibrated per pixel position (for aligned corpora such as digits).
    pub positional: Summary,
    /// The one-line threshold decoder.
    pub threshold: Summary,
}

/// Settings of [`averaging_attack`].
#[derive(Clone, Debug)]
pub struct AveragingOptions {
    /// Encryptions per frame to try (1 is the single-encryption attack).
    pub ts: Vec<usize>,
    /// Training images the attacker simulates with, per T.
    pub calibration: usize,
    /// Test frames attacked.
    pub frames: usize,
}

/// T encryptions of each frame; the attacker averages |e| and decodes.
/// `attacker` is the attacker's own encryptor (same scheme and parameters;
/// its corpus need not be the device's), `device` the one under attack.
pub fn averaging_attack(
    attacker: &Encryptor,
    device: &Encryptor,
    train: &Dataset,
    test: &Dataset,
    opts: &AveragingOptions,
    mut progress: impl FnMut(usize, usize),
) -> Result<Vec<AveragingResult>> {
    let spec = device.spec();
    let g = spec.geometry();
    let classes = spec.labels().len().max(1);
    let mut pre = Preprocessor::new(spec);
    let calib = opts.calibration.min(train.images.len());
    let n = opts.frames.min(test.images.len());
    let train_x = train.preprocess(0..calib, &mut pre)?;
    let test_x = test.preprocess(0..n, &mut pre)?;
    let total = opts.ts.len() * (calib + n);
    let mut done = 0;
    let mut out = Vec::new();
    for &t in &opts.ts {
        let mut dec = decoder::Calibrated::new(g.width, g.height, classes);
        let mut pos = decoder::PositionCalibrated::new(g.width, g.height, classes);
        for (i, x) in train_x.iter().enumerate() {
            let encs = attacker.encrypt_batch_fresh(&copies(x, t)?)?;
            let m = decoder::mean_abs(encs.iter().map(|e| e.data()));
            let truth = baseline::unit_pixels(train, i);
            dec.observe(&truth, &m, train.labels[i] as usize);
            pos.observe(&truth, &m, train.labels[i] as usize);
            done += 1;
            if done % 256 == 0 {
                progress(done, total);
            }
        }
        let (mut cal, mut thr, mut posn) = (Vec::new(), Vec::new(), Vec::new());
        for (i, x) in test_x.iter().enumerate() {
            let encs = device.encrypt_batch_fresh(&copies(x, t)?)?;
            let m = decoder::mean_abs(encs.iter().map(|e| e.data()));
            let truth = baseline::unit_pixels(test, i);
            cal.push(dec.score(&truth, &m, test.labels[i] as usize));
            posn.push(pos.score(&truth, &m, test.labels[i] as usize));
            thr.push(
                ssim::ssim(&decoder::threshold(&m), &truth, g.width, g.height, 1.0)
                    .unwrap_or(f64::NAN),
            );
            done += 1;
            if done % 256 == 0 {
                progress(done, total);
            }
        }
        out.push(AveragingResult {
            t,
            calibrated: Summary::of(&cal),
            positional: Summary::of(&posn),
            threshold: Summary::of(&thr),
        });
    }
    progress(total, total);
    Ok(out)
}

/// `t` copies of one frame, to encrypt it `t` times (what the averaging
/// attack needs; a device never does this).
fn copies(x: &PlainTensor, t: usize) -> Result<Vec<PlainTensor>> {
    (0..t)
        .map(|_| Ok(PlainTensor::new(x.geometry(), x.data().to_vec())?))
        .collect()
}
