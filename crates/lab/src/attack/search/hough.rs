//! The vote at the attack's core: for a candidate public crop, every
//! likely-background pixel names the private weights that would explain it
//! exactly; the true crop gathers a sharp peak, a wrong one scatters.

use edgehide::Params;

/// The weight range the key's coefficients can take, and the vote bins.
#[derive(Clone, Copy, Debug)]
pub(super) struct Weights {
    pub(super) k: usize,
    /// Private weight bounds.
    pub(super) l0: (f32, f32),
    /// Upper bound of any one weight.
    pub(super) upper: f32,
}

impl Weights {
    pub(super) fn of(p: &Params) -> Weights {
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
pub(super) enum Mode {
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
pub(super) struct Hough {
    pub(super) w: Weights,
    pub(super) mode: Mode,
    pub(super) b0: f32,
    pub(super) mu: f32,
    pub(super) width: f32,
    pub(super) l0_grid: Vec<f32>,
    pub(super) nbins: usize,
    pub(super) bins: Vec<u16>,
    /// Bin of each pixel's two solutions, for the row being voted.
    pub(super) pos: Vec<u32>,
    /// The constant per-pixel term of the denominator for modes `Two` and
    /// `One` (see [`bin_positions`]).
    pub(super) dw: Vec<f32>,
}

/// Interleaved histograms per vote (see [`Hough::vote`]).
pub(super) const COPIES: usize = 4;

/// The best bin pair: votes, and (l0, l1) at its centre.
#[derive(Clone, Copy, Debug)]
pub(super) struct Peak {
    pub(super) votes: u32,
    pub(super) l0: f32,
    pub(super) l1: f32,
}

/// For each pixel, the bins of its two solutions `(±a - c) / d` with
/// `c = cz*z + cc` and `d = dz*z + dw`, shifted past the low sentinel.
/// Pixels with `d` near 0 say nothing, and neither do pixels where |e| is
/// exactly |b0| (`blank`): there every image may be black, and a mostly
/// black crop (a digit) would gather false votes from its saturated ink.
/// Both go to the sentinel.
#[allow(clippy::too_many_arguments)]
#[multiversion::multiversion(targets("x86_64+avx2+fma"))]
pub(super) fn bin_positions(
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
    pub(super) fn new(w: Weights, mode: Mode, b0: f32, mu: f32, width: f32) -> Hough {
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

    pub(super) fn origin(&self) -> f32 {
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
    pub(super) fn vote(&mut self, a: &[f32], z: &[f32]) -> Peak {
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

    pub(super) fn peak(&self) -> Peak {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attack::search::scan::FINE_BIN;

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
