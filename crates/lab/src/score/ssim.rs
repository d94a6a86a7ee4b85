//! SSIM (Wang et al. 2004) as scikit-image computes it by default, so our
//! figures compare with published ones: 7x7 uniform windows, sample
//! covariance, K1 = 0.01, K2 = 0.03, averaged over the windows that lie
//! fully inside the image. Checked against scikit-image's own values in
//! `tests/data/ssim-known.json`.
//!
//! (`image-compare`'s SSIM uses 8x8 non-overlapping windows, which on 28x28
//! frames gives 9 windows and figures that do not compare with the
//! literature's.)

const WIN: usize = 7;
const K1: f64 = 0.01;
const K2: f64 = 0.03;

/// Mean SSIM of two `h` x `w` images whose values span `data_range`
/// (1.0 for images in [0, 1]). `None` when the sizes disagree or the image
/// is smaller than one window.
pub fn ssim(a: &[f32], b: &[f32], w: usize, h: usize, data_range: f64) -> Option<f64> {
    if a.len() != w * h || b.len() != w * h || w < WIN || h < WIN {
        return None;
    }
    let (c1, c2) = ((K1 * data_range).powi(2), (K2 * data_range).powi(2));
    let n = (WIN * WIN) as f64;
    let cov_norm = n / (n - 1.0);
    let mut total = 0.0;
    for y0 in 0..=h - WIN {
        for x0 in 0..=w - WIN {
            let (mut sa, mut sb, mut saa, mut sbb, mut sab) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for y in y0..y0 + WIN {
                for x in x0..x0 + WIN {
                    let (p, q) = (a[y * w + x] as f64, b[y * w + x] as f64);
                    sa += p;
                    sb += q;
                    saa += p * p;
                    sbb += q * q;
                    sab += p * q;
                }
            }
            let (ua, ub) = (sa / n, sb / n);
            let va = cov_norm * (saa / n - ua * ua);
            let vb = cov_norm * (sbb / n - ub * ub);
            let vab = cov_norm * (sab / n - ua * ub);
            total += ((2.0 * ua * ub + c1) * (2.0 * vab + c2))
                / ((ua * ua + ub * ub + c1) * (va + vb + c2));
        }
    }
    Some(total / ((h - WIN + 1) * (w - WIN + 1)) as f64)
}

/// Mean, 90th percentile and maximum of a list of scores.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    /// Mean.
    pub mean: f64,
    /// 90th percentile.
    pub p90: f64,
    /// Maximum.
    pub max: f64,
    /// Scores summarised.
    pub n: usize,
}

impl Summary {
    /// Summarises `scores` (NaN scores are left out).
    pub fn of(scores: &[f64]) -> Summary {
        let mut s: Vec<f64> = scores.iter().copied().filter(|v| v.is_finite()).collect();
        s.sort_by(f64::total_cmp);
        let n = s.len();
        if n == 0 {
            return Summary {
                mean: f64::NAN,
                p90: f64::NAN,
                max: f64::NAN,
                n,
            };
        }
        // Linear interpolation between order statistics (NumPy's default).
        let pos = 0.9 * (n - 1) as f64;
        let (lo, frac) = (pos.floor() as usize, pos - pos.floor());
        let p90 = s[lo] + frac * (s[(lo + 1).min(n - 1)] - s[lo]);
        Summary {
            mean: s.iter().sum::<f64>() / n as f64,
            p90,
            max: s[n - 1],
            n,
        }
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "mean {:.3}, p90 {:.3}, max {:.3} (n={})",
            self.mean, self.p90, self.max, self.n
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_images_score_one_and_sizes_are_checked() {
        let a: Vec<f32> = (0..100).map(|i| (i % 7) as f32 / 7.0).collect();
        assert!((ssim(&a, &a, 10, 10, 1.0).unwrap() - 1.0).abs() < 1e-12);
        assert!(
            ssim(&a, &a, 5, 20, 1.0).is_none(),
            "narrower than one window"
        );
        assert!(ssim(&a, &a[..99], 10, 10, 1.0).is_none());
        assert!(ssim(&a[..36], &a[..36], 6, 6, 1.0).is_none());
    }

    #[test]
    fn summary_matches_numpy_percentile() {
        let s = Summary::of(&[0.1, 0.5, 0.2, 0.9, 0.3, f64::NAN]);
        assert_eq!(s.n, 5);
        assert!((s.mean - 0.4).abs() < 1e-12);
        assert!((s.p90 - 0.74).abs() < 1e-12); // numpy.percentile([...], 90)
        assert_eq!(s.max, 0.9);
    }
}
