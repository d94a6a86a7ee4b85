//! A calibrated decoder that needs no knowledge of the public corpus.
//!
//! |e| removes the sign mask. Averaged over T encryptions of one frame, the
//! public crops and weights average out and mean |e| tends to a fixed
//! function of the pixel. The attacker learns that function's inverse by
//! simulation: they encrypt images of the same kind that they own (the
//! public training split) with the published scheme and their own corpus,
//! and record the mean pixel value seen for each (mean |e| at the pixel,
//! mean |e| around it, class) cell. Decoding looks the cells up. The label
//! is the server's anyway (worst case: the true label is used).

use super::ssim::ssim;

const BINS: usize = 40;
/// |e| never exceeds the largest normalised value (weights sum to 1); 2.5
/// covers the 0-255 range under any common normalisation.
const TOP: f32 = 2.5;

fn bin(v: f32) -> usize {
    ((v / TOP * BINS as f32) as usize).min(BINS - 1)
}

/// The features of each pixel: its mean |e| and the mean over its 3x3
/// neighbourhood (clamped at the borders).
fn features(mean_abs: &[f32], w: usize, h: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::with_capacity(w * h);
    for y in 0..h {
        for x in 0..w {
            let (mut s, mut c) = (0.0, 0.0);
            for yy in y.saturating_sub(1)..(y + 2).min(h) {
                for xx in x.saturating_sub(1)..(x + 2).min(w) {
                    s += mean_abs[yy * w + xx];
                    c += 1.0;
                }
            }
            out.push((bin(mean_abs[y * w + x]), bin(s / c)));
        }
    }
    out
}

/// Lookup tables from (class, pixel feature, neighbourhood feature) to the
/// mean true pixel value.
#[derive(Clone, Debug)]
pub struct Calibrated {
    w: usize,
    h: usize,
    sum: Vec<f64>,
    count: Vec<u32>,
    /// Fallback per (class, pixel feature) for cells never seen.
    sum1: Vec<f64>,
    count1: Vec<u32>,
    classes: usize,
}

impl Calibrated {
    /// A decoder for `w` x `h` frames of `classes` classes, nothing observed.
    pub fn new(w: usize, h: usize, classes: usize) -> Calibrated {
        Calibrated {
            w,
            h,
            sum: vec![0.0; classes * BINS * BINS],
            count: vec![0; classes * BINS * BINS],
            sum1: vec![0.0; classes * BINS],
            count1: vec![0; classes * BINS],
            classes,
        }
    }

    /// Adds one simulated frame: its true pixels in [0, 1] and the mean |e|
    /// of its encryptions.
    pub fn observe(&mut self, truth: &[f32], mean_abs: &[f32], class: usize) {
        let c = class.min(self.classes - 1);
        for (p, (f1, f2)) in features(mean_abs, self.w, self.h).into_iter().enumerate() {
            let cell = (c * BINS + f1) * BINS + f2;
            self.sum[cell] += truth[p] as f64;
            self.count[cell] += 1;
            self.sum1[c * BINS + f1] += truth[p] as f64;
            self.count1[c * BINS + f1] += 1;
        }
    }

    /// The estimate of a frame, in [0, 1].
    pub fn decode(&self, mean_abs: &[f32], class: usize) -> Vec<f32> {
        let c = class.min(self.classes - 1);
        features(mean_abs, self.w, self.h)
            .into_iter()
            .map(|(f1, f2)| {
                let cell = (c * BINS + f1) * BINS + f2;
                let one = c * BINS + f1;
                if self.count[cell] > 0 {
                    (self.sum[cell] / self.count[cell] as f64) as f32
                } else if self.count1[one] > 0 {
                    (self.sum1[one] / self.count1[one] as f64) as f32
                } else {
                    0.0
                }
            })
            .collect()
    }

    /// SSIM of the decoded frame against the truth.
    pub fn score(&self, truth: &[f32], mean_abs: &[f32], class: usize) -> f64 {
        ssim(&self.decode(mean_abs, class), truth, self.w, self.h, 1.0).unwrap_or(f64::NAN)
    }
}

const POS_BINS: usize = 20;

/// Lookup tables from (class, pixel position, mean |e| at the pixel) to the
/// mean true pixel value. For corpora whose images are aligned (digits are
/// centred), mean |e| depends on where the pixel is, not only on its value.
#[derive(Clone, Debug)]
pub struct PositionCalibrated {
    w: usize,
    h: usize,
    classes: usize,
    sum: Vec<f64>,
    count: Vec<u32>,
    fallback: Calibrated,
}

fn pos_bin(v: f32) -> usize {
    ((v / TOP * POS_BINS as f32) as usize).min(POS_BINS - 1)
}

impl PositionCalibrated {
    /// A decoder for `w` x `h` frames of `classes` classes, nothing observed.
    pub fn new(w: usize, h: usize, classes: usize) -> PositionCalibrated {
        let cells = classes * w * h * POS_BINS;
        PositionCalibrated {
            w,
            h,
            classes,
            sum: vec![0.0; cells],
            count: vec![0; cells],
            fallback: Calibrated::new(w, h, classes),
        }
    }

    fn cell(&self, class: usize, p: usize, v: f32) -> usize {
        (class.min(self.classes - 1) * self.w * self.h + p) * POS_BINS + pos_bin(v)
    }

    /// Learns from one frame with a known truth.
    pub fn observe(&mut self, truth: &[f32], mean_abs: &[f32], class: usize) {
        for (p, (&t, &v)) in truth.iter().zip(mean_abs).enumerate() {
            let c = self.cell(class, p, v);
            self.sum[c] += t as f64;
            self.count[c] += 1;
        }
        self.fallback.observe(truth, mean_abs, class);
    }

    /// The frame it guesses from the mean |e| and the class.
    pub fn decode(&self, mean_abs: &[f32], class: usize) -> Vec<f32> {
        let coarse = self.fallback.decode(mean_abs, class);
        mean_abs
            .iter()
            .enumerate()
            .map(|(p, &v)| {
                let c = self.cell(class, p, v);
                if self.count[c] > 0 {
                    (self.sum[c] / self.count[c] as f64) as f32
                } else {
                    coarse[p]
                }
            })
            .collect()
    }

    /// SSIM of its guess against the truth.
    pub fn score(&self, truth: &[f32], mean_abs: &[f32], class: usize) -> f64 {
        ssim(&self.decode(mean_abs, class), truth, self.w, self.h, 1.0).unwrap_or(f64::NAN)
    }
}

/// Element-wise mean of |e| over encryptions of one frame.
pub fn mean_abs<'a>(encryptions: impl IntoIterator<Item = &'a [f32]>) -> Vec<f32> {
    let mut acc: Vec<f32> = Vec::new();
    let mut n = 0.0;
    for e in encryptions {
        if acc.is_empty() {
            acc = vec![0.0; e.len()];
        }
        for (a, v) in acc.iter_mut().zip(e) {
            *a += v.abs();
        }
        n += 1.0;
    }
    acc.iter_mut().for_each(|a| *a /= n);
    acc
}

/// The one-line decoder: bright where |e| exceeds the median
/// level (the background, which covers half of a Fashion-MNIST frame),
/// scaled to [0, 1].
pub fn threshold(mean_abs: &[f32]) -> Vec<f32> {
    let mut s = mean_abs.to_vec();
    s.sort_by(f32::total_cmp);
    let (median, top) = (s[s.len() / 2], s[s.len() - 1]);
    let span = (top - median).max(1e-6);
    mean_abs
        .iter()
        .map(|&v| ((v - median) / span).clamp(0.0, 1.0))
        .collect()
}
