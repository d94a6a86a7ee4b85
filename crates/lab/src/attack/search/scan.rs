//! The attacker: a coarse scan of the whole crop space, an exhaustive
//! refinement around the best candidates, and the frame rebuilt from the
//! crop and weights found.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use edgehide::hazmat::{
    Affine, PreparedPool, Slot, SlotMode, crop_size, public_image, slot_mode, tap, zoom_range,
};
use edgehide::{Geometry, Params};

use super::SearchOptions;
use super::hough::{Hough, Mode, Peak, Weights};

/// Coarse candidates kept per frame: a bounded min-heap on votes.
#[derive(Clone, Copy, Debug)]
pub(super) struct Candidate {
    pub(super) votes: u32,
    pub(super) slot: Slot,
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

pub(super) struct TopK {
    pub(super) heap: BinaryHeap<Candidate>,
    pub(super) k: usize,
}

impl TopK {
    pub(super) fn new(k: usize) -> TopK {
        TopK {
            heap: BinaryHeap::with_capacity(k + 1),
            k: k.max(1),
        }
    }
    pub(super) fn floor(&self) -> u32 {
        if self.heap.len() < self.k {
            0
        } else {
            self.heap.peek().map_or(0, |c| c.votes)
        }
    }
    pub(super) fn offer(&mut self, votes: u32, slot: Slot) {
        if self.heap.len() < self.k {
            self.heap.push(Candidate { votes, slot });
        } else if votes > self.floor() {
            self.heap.pop();
            self.heap.push(Candidate { votes, slot });
        }
    }
}

/// Everything the attacker knows: the corpus, the scheme's parameters, the
/// normalisation, and statistics of public data like the private frames.
pub(super) struct Attacker<'a> {
    pub(super) pool: &'a PreparedPool,
    pub(super) params: &'a Params,
    pub(super) affine: Affine,
    pub(super) g: Geometry,
    pub(super) w: Weights,
    /// Normalised black (the background) and white.
    pub(super) b0: f32,
    pub(super) white: f32,
    /// Mean normalised public pixel.
    pub(super) mu: f32,
    /// The pixels the coarse scan votes with (see [`likely_background`]),
    /// most telling first.
    pub(super) background: Vec<usize>,
    /// Class-mean training frames, normalised.
    pub(super) class_means: Vec<Vec<f32>>,
    pub(super) opts: &'a SearchOptions,
}

/// One slot's best crop and its vote.
#[derive(Clone, Copy, Debug)]
pub(super) struct Hit {
    pub(super) slot: Slot,
    pub(super) peak: Peak,
}

/// What the attacker settles on for one encryption.
#[derive(Clone, Debug)]
pub(super) struct Found {
    /// The public slots found (one, or two for the k = 3 pair stage).
    pub(super) slots: Vec<Slot>,
    pub(super) peak: Peak,
}

/// First-slot candidates the k = 3 pair stage extends.
pub(super) const PAIR_FIRSTS: usize = 4;

pub(super) const COARSE_BIN: f32 = 0.01;
pub(super) const FINE_BIN: f32 = 0.0025;

impl Attacker<'_> {
    pub(super) fn flips(&self) -> &'static [bool] {
        if self.params.flip() {
            &[false, true]
        } else {
            &[false]
        }
    }

    /// Coarse scan of the whole corpus on the background pixels (`mode`'s
    /// per-pixel values, if any, are at those pixels).
    pub(super) fn coarse(&self, a: &[f32], mode: Mode, top: &mut TopK) -> u64 {
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

    pub(super) fn coarse_shift(
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
    pub(super) fn crop_sides(&self, width: u32, height: u32) -> Vec<(u32, u32)> {
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

    pub(super) fn coarse_crop(
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
    pub(super) fn refine(&self, a: &[f32], c: &Slot, hough: &mut Hough) -> Hit {
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
    pub(super) fn reconstruct(&self, a: &[f32], found: &Found, class: usize) -> Vec<f32> {
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
    pub(super) fn to_unit(&self, v: &[f32]) -> Vec<f32> {
        v.iter()
            .map(|&x| ((x - self.b0) / (self.white - self.b0)).clamp(0.0, 1.0))
            .collect()
    }

    /// One encryption: the attacker's frame, the crops it settled on, and
    /// the number of coarse candidates scored.
    pub(super) fn attack(&self, a: &[f32], class: usize) -> (Vec<f32>, Option<Found>, u64) {
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
}
