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

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::time::Instant;

use rayon::prelude::*;
use zeroize::Zeroize;

use edgehide::hazmat::{
    Affine, EncryptorHazmat, KeyHazmat, PreparedPool, Slot, SlotMode, SpecHazmat, crop_size,
    public_image, slot_mode, tap, zoom_range,
};
use edgehide::{Encryptor, Geometry, Params, Preprocessor};

use super::baseline::{class_means, unit_pixels};
use super::ssim::{Summary, ssim};
use crate::dataset::Dataset;
use crate::error::{Error, Result};

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

/// Coarse candidates kept per frame: a bounded min-heap on votes.
#[derive(Clone, Copy, Debug)]
struct Candidate {
    votes: u32,
    slot: Slot,
}

impl PartialEq for Candidate {
    fn eq(&self, o: &Self) -> bool {
        self.votes == o.votes
    }
}
impl Eq for Candidate {}
impl PartialOrd for Candidate {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Candidate {
    // Reversed, so the heap's top is the weakest kept candidate.
    fn cmp(&self, o: &Self) -> Ordering {
        o.votes.cmp(&self.votes)
    }
}

struct TopK {
    heap: BinaryHeap<Candidate>,
    k: usize,
}

impl TopK {
    fn new(k: usize) -> TopK {
        TopK {
            heap: BinaryHeap::with_capacity(k + 1),
            k: k.max(1),
        }
    }
    fn floor(&self) -> u32 {
        if self.heap.len() < self.k {
            0
        } else {
            self.heap.peek().map_or(0, |c| c.votes)
        }
    }
    fn offer(&mut self, votes: u32, slot: Slot) {
        if self.heap.len() < self.k {
            self.heap.push(Candidate { votes, slot });
        } else if votes > self.floor() {
            self.heap.pop();
            self.heap.push(Candidate { votes, slot });
        }
    }
}

/// The weight range the key's coefficients can take, and the vote bins.
#[derive(Clone, Copy, Debug)]
struct Weights {
    k: usize,
    /// Private weight bounds.
    l0: (f32, f32),
    /// Upper bound of any one weight.
    upper: f32,
}

impl Weights {
    fn of(p: &Params) -> Weights {
        let k = p.k();
        let upper = p.upper() as f32;
        // With k weights summing to 1, none above `upper`, the private one
        // is at least 1 - (k-1)*upper.
        let lo = (1.0 - (k as f32 - 1.0) * upper).max(0.0);
        let lo = p.min_private_weight().map_or(lo, |v| lo.max(v as f32));
        let hi = p
            .max_private_weight()
            .map_or(upper, |v| upper.min(v as f32));
        Weights {
            k,
            l0: (lo, hi),
            upper,
        }
    }
}

/// Which equation a background pixel is solved with.
#[derive(Clone, Debug)]
enum Mode {
    /// k = 2: `l0*b0 + (1-l0)*z = ±a`, solved for l0.
    Two,
    /// k >= 3, one slot: the other slots at their mean `mu`,
    /// `l0*b0 + l1*z + (1-l0-l1)*mu = ±a`, solved for l1 on a grid of l0.
    One,
    /// k = 3, second slot `z` given the first `z1` (per voting pixel):
    /// `l0*b0 + l1*z1 + (1-l0-l1)*z = ±a`, solved for l1 on a grid of l0.
    Pair(Vec<f32>),
}

/// Per-pixel solutions of the background equation, binned. The true crop
/// puts every background pixel into one bin; a wrong one scatters.
struct Hough {
    w: Weights,
    mode: Mode,
    b0: f32,
    mu: f32,
    width: f32,
    l0_grid: Vec<f32>,
    nbins: usize,
    bins: Vec<u16>,
    /// Bin of each pixel's two solutions, for the row being voted.
    pos: Vec<u32>,
    /// The constant per-pixel term of the denominator for modes `Two` and
    /// `One` (see [`bin_positions`]).
    dw: Vec<f32>,
}

/// Interleaved histograms per vote (see [`Hough::vote`]).
const COPIES: usize = 4;

/// The best bin pair: votes, and (l0, l1) at its centre.
#[derive(Clone, Copy, Debug)]
struct Peak {
    votes: u32,
    l0: f32,
    l1: f32,
}

/// For each pixel, the bins of its two solutions `(±a - c) / d` with
/// `c = cz*z + cc` and `d = dz*z + dw`, shifted past the low sentinel.
/// Pixels with `d` near 0 say nothing, and neither do pixels where |e| is
/// exactly |b0| (`blank`): there every image may be black, and a mostly
/// black crop (a digit) would gather false votes from its saturated ink.
/// Both go to the sentinel.
#[allow(clippy::too_many_arguments)]
#[multiversion::multiversion(targets("x86_64+avx2+fma"))]
fn bin_positions(
    a: &[f32],
    z: &[f32],
    dw: &[f32],
    (cz, cc, dz): (f32, f32, f32),
    blank: f32,
    origin: f32,
    inv: f32,
    top: f32,
    out: &mut [u32],
) {
    let shift = 1.0 - origin * inv;
    for (((&a, &z), &dw), p) in a.iter().zip(z).zip(dw).zip(out.chunks_exact_mut(2)) {
        let d = dz * z + dw;
        let c = cz * z + cc;
        let r = inv / d;
        let ok = d.abs() >= 1e-3 && (a - blank).abs() >= 1e-4;
        // max() first: it turns a NaN into 0, so the value is finite.
        let plus = if ok {
            ((a - c) * r + shift).max(0.0).min(top)
        } else {
            0.0
        };
        let minus = if ok {
            ((-a - c) * r + shift).max(0.0).min(top)
        } else {
            0.0
        };
        p[0] = plus as u32;
        p[1] = minus as u32;
    }
}

impl Hough {
    /// `width`: bin width; the grid of l0 (modes other than `Two`) is
    /// twice as fine as the bins are wide.
    fn new(w: Weights, mode: Mode, b0: f32, mu: f32, width: f32) -> Hough {
        let (lo, hi) = w.l0;
        let l0_grid: Vec<f32> = if matches!(mode, Mode::Two) {
            vec![0.0]
        } else {
            let n = (((hi - lo) / (2.5 * width)).ceil() as usize).max(1);
            (0..=n)
                .map(|i| lo + (hi - lo) * i as f32 / n as f32)
                .collect()
        };
        let span = if matches!(mode, Mode::Two) {
            hi - lo
        } else {
            w.upper
        };
        let nbins = ((span / width).ceil() as usize + 2).max(2);
        Hough {
            w,
            mode,
            b0,
            mu,
            width,
            bins: vec![0; COPIES * (nbins + 2) * l0_grid.len()],
            pos: Vec::new(),
            dw: Vec::new(),
            l0_grid,
            nbins,
        }
    }

    fn origin(&self) -> f32 {
        if matches!(self.mode, Mode::Two) {
            self.w.l0.0 - self.width
        } else {
            -self.width
        }
    }

    /// Votes of pixels with |e| = `a` and public value `z`. Bin positions
    /// are computed first in a branch-free loop that vectorises; each row of
    /// bins has a sentinel bin at each end for out-of-range votes; and the
    /// counts go to [`COPIES`] interleaved histograms, because votes pile
    /// into one bin and increments of one counter would serialise.
    fn vote(&mut self, a: &[f32], z: &[f32]) -> Peak {
        self.bins.fill(0);
        let origin = self.origin();
        let inv = 1.0 / self.width;
        let n = self.nbins;
        let stride = n + 2;
        let plane = stride * self.l0_grid.len();
        let top = (n + 1) as f32;
        self.pos.resize(2 * a.len(), 0);
        // The denominator's per-pixel term: a constant (filled once per
        // length) or, for the pair stage, the first slot's values as given.
        match self.mode {
            Mode::Two => self.dw.resize(a.len(), self.b0),
            Mode::One => self.dw.resize(a.len(), -self.mu),
            Mode::Pair(_) => {}
        }
        let dw: &[f32] = match &self.mode {
            Mode::Pair(z1) => &z1[..a.len()],
            _ => &self.dw,
        };
        for g in 0..self.l0_grid.len() {
            let l0 = self.l0_grid[g];
            let coefficients = match self.mode {
                Mode::Two => (1.0, 0.0, -1.0),
                Mode::One => (0.0, self.mu + l0 * (self.b0 - self.mu), 1.0),
                Mode::Pair(_) => (1.0 - l0, l0 * self.b0, -1.0),
            };
            bin_positions(
                a,
                z,
                dw,
                coefficients,
                self.b0.abs(),
                origin,
                inv,
                top,
                &mut self.pos,
            );
            let base = g * stride;
            let mut quads = self.pos.chunks_exact(COPIES);
            for q in &mut quads {
                for (c, &p) in q.iter().enumerate() {
                    self.bins[c * plane + base + p as usize] += 1;
                }
            }
            for &p in quads.remainder() {
                self.bins[base + p as usize] += 1;
            }
        }
        self.peak()
    }

    fn peak(&self) -> Peak {
        let n = self.nbins;
        let origin = self.origin();
        let mut best = Peak {
            votes: 0,
            l0: 0.0,
            l1: 0.0,
        };
        let stride = n + 2;
        let plane = stride * self.l0_grid.len();
        let count =
            |i: usize| -> u32 { (0..COPIES).map(|c| self.bins[c * plane + i] as u32).sum() };
        for g in 0..self.l0_grid.len() {
            for i in 0..n - 1 {
                let at = g * stride + 1 + i;
                let v = count(at) + count(at + 1);
                if v > best.votes {
                    let centre = origin + (i as f32 + 1.0) * self.width;
                    best = if matches!(self.mode, Mode::Two) {
                        Peak {
                            votes: v,
                            l0: centre,
                            l1: 1.0 - centre,
                        }
                    } else {
                        Peak {
                            votes: v,
                            l0: self.l0_grid[g],
                            l1: centre,
                        }
                    };
                }
            }
        }
        best
    }
}

/// Everything the attacker knows: the corpus, the scheme's parameters, the
/// normalisation, and statistics of public data like the private frames.
struct Attacker<'a> {
    pool: &'a PreparedPool,
    params: &'a Params,
    affine: Affine,
    g: Geometry,
    w: Weights,
    /// Normalised black (the background) and white.
    b0: f32,
    white: f32,
    /// Mean normalised public pixel.
    mu: f32,
    /// The pixels the coarse scan votes with (see [`likely_background`]),
    /// most telling first.
    background: Vec<usize>,
    /// Class-mean training frames, normalised.
    class_means: Vec<Vec<f32>>,
    opts: &'a SearchOptions,
}

/// One slot's best crop and its vote.
#[derive(Clone, Copy, Debug)]
struct Hit {
    slot: Slot,
    peak: Peak,
}

/// What the attacker settles on for one encryption.
#[derive(Clone, Debug)]
struct Found {
    /// The public slots found (one, or two for the k = 3 pair stage).
    slots: Vec<Slot>,
    peak: Peak,
}

/// First-slot candidates the k = 3 pair stage extends.
const PAIR_FIRSTS: usize = 4;

const COARSE_BIN: f32 = 0.01;
const FINE_BIN: f32 = 0.0025;

impl Attacker<'_> {
    fn flips(&self) -> &'static [bool] {
        if self.params.flip() {
            &[false, true]
        } else {
            &[false]
        }
    }

    /// Coarse scan of the whole corpus on the background pixels (`mode`'s
    /// per-pixel values, if any, are at those pixels).
    fn coarse(&self, a: &[f32], mode: Mode, top: &mut TopK) -> u64 {
        let a_bg: Vec<f32> = self.background.iter().map(|&p| a[p]).collect();
        let mut hough = Hough::new(self.w, mode, self.b0, self.mu, COARSE_BIN);
        let mut z_bg = vec![0f32; a_bg.len()];
        let mut scored = 0;
        for image in 0..self.pool.entries.len() as u32 {
            let e = self.pool.entries[image as usize];
            scored += match slot_mode(e.width, e.height, self.g) {
                SlotMode::Shift => self.coarse_shift(image, &a_bg, &mut z_bg, &mut hough, top),
                SlotMode::Crop => self.coarse_crop(image, &a_bg, &mut z_bg, &mut hough, top),
            };
        }
        scored
    }

    fn coarse_shift(
        &self,
        image: u32,
        a_bg: &[f32],
        z_bg: &mut [f32],
        hough: &mut Hough,
        top: &mut TopK,
    ) -> u64 {
        let e = self.pool.entries[image as usize];
        let s = self.params.max_shift() as i32;
        let (w, h) = (self.g.width as i32, self.g.height as i32);
        let src = &self.pool.bytes[e.offset as usize..][..(w * h) as usize];
        let (scale, offset) = (self.affine.scale[0], self.affine.offset[0]);
        let mut n = 0;
        for &flip in self.flips() {
            for y0 in -s..=s {
                for x0 in -s..=s {
                    for (zv, &p) in z_bg.iter_mut().zip(&self.background) {
                        let (oy, ox) = ((p / self.g.width) as i32, (p % self.g.width) as i32);
                        let ox = if flip { w - 1 - ox } else { ox };
                        let (sy, sx) = (oy + y0, ox + x0);
                        let raw = if sx < 0 || sy < 0 || sx >= w || sy >= h {
                            0.0
                        } else {
                            src[(sy * w + sx) as usize] as f32
                        };
                        *zv = raw * scale + offset;
                    }
                    let peak = hough.vote(a_bg, z_bg);
                    n += 1;
                    if peak.votes > top.floor() {
                        top.offer(
                            peak.votes,
                            Slot {
                                image,
                                x0,
                                y0,
                                cw: w as u32,
                                ch: h as u32,
                                flip: flip as u32,
                                step_x: 1.0,
                                step_y: 1.0,
                            },
                        );
                    }
                }
            }
        }
        n
    }

    /// Crop sides of the coarse grid for one photo.
    fn crop_sides(&self, width: u32, height: u32) -> Vec<(u32, u32)> {
        let g = self.g;
        let (lo, hi) = zoom_range(width, height, g, self.params);
        let (w_lo, _) = crop_size(lo, width, height, g);
        let (w_hi, _) = crop_size(hi, width, height, g);
        let mut out = Vec::new();
        let mut cw = w_lo as f64;
        loop {
            let c = (cw.round() as u32).min(w_hi);
            let z = (c as f64 + 0.5) / g.width as f64;
            out.push(crop_size(z, width, height, g));
            if c >= w_hi {
                break;
            }
            cw = (cw * self.opts.scale_ratio).max(c as f64 + 1.0);
        }
        out
    }

    fn coarse_crop(
        &self,
        image: u32,
        a_bg: &[f32],
        z_bg: &mut [f32],
        hough: &mut Hough,
        top: &mut TopK,
    ) -> u64 {
        let g = self.g;
        let e = self.pool.entries[image as usize];
        let (sw, sh) = (e.width as usize, e.height as usize);
        let src = &self.pool.bytes[e.offset as usize..][..sw * sh];
        let (scale, offset) = (self.affine.scale[0], self.affine.offset[0]);
        let bg_yx: Vec<(usize, usize)> = self
            .background
            .iter()
            .map(|&p| (p / g.width, p % g.width))
            .collect();
        let mut n = 0;
        let mut rows = Vec::new();
        for (cw, ch) in self.crop_sides(e.width, e.height) {
            let step_x = (cw as f64 / g.width as f64) as f32;
            let step_y = (ch as f64 / g.height as f64) as f32;
            let stride_x = ((self.opts.stride * step_x as f64).round() as usize).max(1);
            let stride_y = ((self.opts.stride * step_y as f64).round() as usize).max(1);
            let xs = positions(sw - cw as usize, stride_x);
            let ys = positions(sh - ch as usize, stride_y);
            let ty: Vec<_> = (0..g.height)
                .map(|o| tap(o, g.height, step_y, ch, 0, false))
                .collect();
            for &flip in self.flips() {
                let tx: Vec<_> = (0..g.width)
                    .map(|o| tap(o, g.width, step_x, cw, 0, flip))
                    .collect();
                // Horizontal pass once per (side, flip): every source row at
                // every scanned x0, all output columns.
                rows.clear();
                rows.resize(sh * xs.len() * g.width, 0f32);
                for y in 0..sh {
                    let line = &src[y * sw..(y + 1) * sw];
                    for (xi, &x0) in xs.iter().enumerate() {
                        let out = &mut rows[(y * xs.len() + xi) * g.width..][..g.width];
                        for (o, t) in out.iter_mut().zip(&tx) {
                            let p0 = line[x0 + t.i0 as usize] as f32;
                            let p1 = line[x0 + t.i1 as usize] as f32;
                            *o = p0 + t.t * (p1 - p0);
                        }
                    }
                }
                for &y0 in &ys {
                    for (xi, &x0) in xs.iter().enumerate() {
                        for (zv, &(oy, ox)) in z_bg.iter_mut().zip(&bg_yx) {
                            let t = ty[oy];
                            let r0 = rows[((y0 + t.i0 as usize) * xs.len() + xi) * g.width + ox];
                            let r1 = rows[((y0 + t.i1 as usize) * xs.len() + xi) * g.width + ox];
                            *zv = (r0 + t.t * (r1 - r0)) * scale + offset;
                        }
                        let peak = hough.vote(a_bg, z_bg);
                        n += 1;
                        if peak.votes > top.floor() {
                            top.offer(
                                peak.votes,
                                Slot {
                                    image,
                                    x0: x0 as i32,
                                    y0: y0 as i32,
                                    cw,
                                    ch,
                                    flip: flip as u32,
                                    step_x,
                                    step_y,
                                },
                            );
                        }
                    }
                }
            }
        }
        n
    }

    /// Exhaustive search around one coarse candidate, every pixel voting,
    /// each crop rendered exactly as the encryptor renders it.
    fn refine(&self, a: &[f32], c: &Slot, hough: &mut Hough) -> Hit {
        let g = self.g;
        let e = self.pool.entries[c.image as usize];
        let mut best = Hit {
            slot: *c,
            peak: Peak {
                votes: 0,
                l0: 0.0,
                l1: 0.0,
            },
        };
        let mut consider = |slot: Slot, best: &mut Hit| {
            let z = public_image(self.pool, &slot, &self.affine);
            let peak = hough.vote(a, &z);
            if peak.votes > best.peak.votes {
                *best = Hit { slot, peak };
            }
        };
        match slot_mode(e.width, e.height, g) {
            SlotMode::Shift => consider(*c, &mut best),
            SlotMode::Crop => {
                let r = self.opts.scale_ratio.sqrt();
                let lo = ((c.cw as f64 / r).floor() as u32).max(g.width as u32);
                let hi = ((c.cw as f64 * r).ceil() as u32).min(e.width);
                for cw in lo..=hi {
                    let z = (cw as f64 + 0.5) / g.width as f64;
                    let (cw, ch) = crop_size(z, e.width, e.height, g);
                    let step_x = (cw as f64 / g.width as f64) as f32;
                    let step_y = (ch as f64 / g.height as f64) as f32;
                    let reach_x = (self.opts.stride * step_x as f64).ceil() as i32;
                    let reach_y = (self.opts.stride * step_y as f64).ceil() as i32;
                    let max_x = (e.width - cw) as i32;
                    let max_y = (e.height - ch) as i32;
                    for y0 in (c.y0 - reach_y).max(0)..=(c.y0 + reach_y).min(max_y) {
                        for x0 in (c.x0 - reach_x).max(0)..=(c.x0 + reach_x).min(max_x) {
                            consider(
                                Slot {
                                    x0,
                                    y0,
                                    cw,
                                    ch,
                                    step_x,
                                    step_y,
                                    ..*c
                                },
                                &mut best,
                            );
                        }
                    }
                }
            }
        }
        best
    }

    /// The frame from the crops and weights found, in [0, 1]. Pixels whose
    /// sign no rule settles take the value nearer the class mean.
    fn reconstruct(&self, a: &[f32], found: &Found, class: usize) -> Vec<f32> {
        let g = self.g;
        let z = public_image(self.pool, &found.slots[0], &self.affine);
        let (l0, l1) = (found.peak.l0.max(1e-3), found.peak.l1);
        let l_rest = (1.0 - l0 - l1).max(0.0);
        // The rest of the public mass: the second slot when the pair stage
        // found it, else the corpus mean (zero weight for k = 2).
        let rest: Vec<f32> = match found.slots.get(1) {
            Some(s2) => public_image(self.pool, s2, &self.affine)
                .iter()
                .map(|v| l_rest * v)
                .collect(),
            None => vec![l_rest * self.mu; a.len()],
        };
        let prior = &self.class_means[class.min(self.class_means.len() - 1)];
        let tol = 0.05 * (self.white - self.b0);
        let mut x = vec![f32::NAN; a.len()];
        let mut options = vec![[0f32; 2]; a.len()];
        for p in 0..a.len() {
            let cands = [
                (a[p] - l1 * z[p] - rest[p]) / l0,
                (-a[p] - l1 * z[p] - rest[p]) / l0,
            ];
            options[p] = cands;
            let bg = cands.iter().any(|v| (v - self.b0).abs() < tol);
            let valid: Vec<f32> = cands
                .iter()
                .copied()
                .filter(|v| *v >= self.b0 - tol && *v <= self.white + tol)
                .collect();
            if bg {
                x[p] = self.b0;
            } else if valid.len() == 1 {
                x[p] = valid[0];
            }
        }
        // Two candidates in range: take the one nearer the decided
        // neighbours, else nearer the class mean.
        for _ in 0..3 {
            let snapshot = x.clone();
            for p in 0..a.len() {
                if !snapshot[p].is_nan() {
                    continue;
                }
                let (py, px) = (p / g.width, p % g.width);
                let (mut s, mut n) = (0.0, 0);
                for yy in py.saturating_sub(1)..(py + 2).min(g.height) {
                    for xx in px.saturating_sub(1)..(px + 2).min(g.width) {
                        let v = snapshot[yy * g.width + xx];
                        if !v.is_nan() {
                            s += v;
                            n += 1;
                        }
                    }
                }
                if n > 0 {
                    let m = s / n as f32;
                    let [u, v] = options[p];
                    x[p] = if (u - m).abs() <= (v - m).abs() { u } else { v };
                }
            }
        }
        x.iter()
            .enumerate()
            .map(|(p, &v)| {
                let v = if v.is_nan() {
                    let [u, w] = options[p];
                    if (u - prior[p]).abs() <= (w - prior[p]).abs() {
                        u
                    } else {
                        w
                    }
                } else {
                    v
                };
                ((v - self.b0) / (self.white - self.b0)).clamp(0.0, 1.0)
            })
            .collect()
    }

    /// Normalised values back to pixels in [0, 1].
    fn to_unit(&self, v: &[f32]) -> Vec<f32> {
        v.iter()
            .map(|&x| ((x - self.b0) / (self.white - self.b0)).clamp(0.0, 1.0))
            .collect()
    }

    /// One encryption: the attacker's frame, the crops it settled on, and
    /// the number of coarse candidates scored.
    fn attack(&self, a: &[f32], class: usize) -> (Vec<f32>, Option<Found>, u64) {
        let single = if self.w.k == 2 { Mode::Two } else { Mode::One };
        let mut top = TopK::new(self.opts.keep);
        let mut scanned = self.coarse(a, single.clone(), &mut top);
        let mut hough = Hough::new(self.w, single, self.b0, self.mu, FINE_BIN);
        let mut firsts: Vec<Hit> = top
            .heap
            .into_sorted_vec()
            .iter()
            .map(|c| self.refine(a, &c.slot, &mut hough))
            .collect();
        firsts.sort_by_key(|h| std::cmp::Reverse(h.peak.votes));
        let mut best = firsts.first().map(|h| Found {
            slots: vec![h.slot],
            peak: h.peak,
        });
        if self.w.k == 3 {
            // Pair stage: with a first slot fixed, the equation on the
            // background is exact again, and the second slot is scanned
            // like the first.
            for first in firsts.iter().take(PAIR_FIRSTS) {
                let z1 = public_image(self.pool, &first.slot, &self.affine);
                let z1_bg: Vec<f32> = self.background.iter().map(|&p| z1[p]).collect();
                let mut top2 = TopK::new(self.opts.keep);
                scanned += self.coarse(a, Mode::Pair(z1_bg), &mut top2);
                let mut h2 = Hough::new(self.w, Mode::Pair(z1), self.b0, self.mu, FINE_BIN);
                for c in top2.heap.into_sorted_vec() {
                    let second = self.refine(a, &c.slot, &mut h2);
                    if best
                        .as_ref()
                        .is_none_or(|b| second.peak.votes > b.peak.votes)
                    {
                        best = Some(Found {
                            slots: vec![first.slot, second.slot],
                            peak: second.peak,
                        });
                    }
                }
            }
        }
        // A wrong crop's votes scatter over the bins; the true one puts every
        // background pixel where the crop differs from black into one. Crops
        // that are mostly black themselves (digits) have few such pixels.
        let accept = |f: &Found| {
            let z = public_image(self.pool, &f.slots[0], &self.affine);
            let informative = z
                .iter()
                .filter(|&&v| (v - self.b0).abs() > 0.05 * (self.white - self.b0))
                .count() as f32;
            f.peak.votes >= ACCEPT_MIN && f.peak.votes as f32 >= ACCEPT_SHARE * informative
        };
        match best {
            Some(f) if accept(&f) => {
                let x = self.reconstruct(a, &f, class);
                (x, Some(f), scanned)
            }
            _ => {
                let prior = &self.class_means[class.min(self.class_means.len() - 1)];
                (self.to_unit(prior), None, scanned)
            }
        }
    }
}

/// Share of pixels whose votes a crop needs before the attacker trusts it.
/// of those where the crop is not black, and at least this many.
const ACCEPT_SHARE: f32 = 0.25;
const ACCEPT_MIN: u32 = 30;

fn positions(max: usize, stride: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (0..=max).step_by(stride).collect();
    if v.last() != Some(&max) {
        v.push(max);
    }
    v
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
    let pool = device.prepared_pool();
    let affine = *device.pool_affine();
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

/// A fixed pool of `n` model-sized images cut once from `pool` by the keyed
/// transform of `spec`: the design the keyed crops replace, kept to measure
/// the difference (a model-sized corpus with `max_shift` 0 and no flip is
/// exactly a list of pre-cut images).
pub fn precut_pool(
    pool: &edgehide::PublicPool,
    spec: &edgehide::ModelSpec,
    n: usize,
) -> Result<edgehide::PublicPool> {
    let g = spec.geometry();
    let prepared = PreparedPool::new(pool, g)?;
    let raw = Affine {
        scale: [1.0; 3],
        offset: [0.0; 3],
    };
    let mut rng = edgehide::hazmat::os_rng()?;
    let mut images = Vec::with_capacity(n);
    for _ in 0..n {
        let slot = edgehide::hazmat::draw_slot(&mut rng, spec.params(), &prepared);
        let planar = public_image(&prepared, &slot, &raw);
        let plane = g.width * g.height;
        let pixels: Vec<u8> = (0..plane)
            .flat_map(|i| (0..g.channels).map(move |c| c * plane + i))
            .map(|j| planar[j].round().clamp(0.0, 255.0) as u8)
            .collect();
        images.push(edgehide::PoolImage::new(
            g.width as u32,
            g.height as u32,
            g.channels as u8,
            pixels,
        )?);
    }
    Ok(edgehide::PublicPool::from_images(images)?)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_keeps_the_best() {
        let mut t = TopK::new(3);
        for v in [5, 1, 9, 7, 3, 8] {
            t.offer(v, Slot::default());
        }
        let mut kept: Vec<u32> = t.heap.into_iter().map(|c| c.votes).collect();
        kept.sort();
        assert_eq!(kept, vec![7, 8, 9]);
    }

    #[test]
    fn k2_votes_peak_at_the_true_weight() {
        let p = edgehide::ParamsBuilder {
            k: 2,
            ..Default::default()
        }
        .build()
        .unwrap();
        let w = Weights::of(&p);
        let b0 = -0.81;
        let mut h = Hough::new(w, Mode::Two, b0, 0.0, FINE_BIN);
        let l0 = 0.42f32;
        let z: Vec<f32> = (0..200).map(|i| -0.8 + (i as f32 * 0.37) % 2.8).collect();
        let a: Vec<f32> = z
            .iter()
            .map(|&z| (l0 * b0 + (1.0 - l0) * z).abs())
            .collect();
        let peak = h.vote(&a, &z);
        assert!(peak.votes >= 190, "{peak:?}");
        assert!((peak.l0 - l0).abs() < 2.0 * FINE_BIN, "{peak:?}");
    }
}
