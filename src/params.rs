//! Validated InstaHide encryption parameters.
//!
//! `Params` can only be obtained through [`ParamsBuilder::build`] (or serde,
//! which goes through the same checks), so an encryptor never sees a value
//! outside the documented ranges.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Largest number of images mixed into one encryption (the private frame
/// included). Keeps per-key state fixed-size, which the GPU layout relies on.
pub const MAX_K: usize = 8;

/// Validated encryption parameters. See [`ParamsBuilder`] for the meaning of
/// each field.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ParamsBuilder", into = "ParamsBuilder")]
pub struct Params {
    k: usize,
    upper: f64,
    min_private_weight: Option<f64>,
    max_private_weight: Option<f64>,
    min_zoom: f64,
    max_zoom: f64,
    max_shift: u32,
    flip: bool,
}

/// Unvalidated parameters; `build` checks them.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ParamsBuilder {
    /// Images per encryption, the private frame included (1..=8). k=1 applies
    /// the sign mask only.
    pub k: usize,
    /// Redraw the coefficients while the largest exceeds this (0 < upper <= 1,
    /// and above 1/k, below which no vector qualifies). Reference: 0.65.
    pub upper: f64,
    /// Redraw while the private frame's weight is below this, when set.
    pub min_private_weight: Option<f64>,
    /// Redraw while the private frame's weight is above this, when set.
    pub max_private_weight: Option<f64>,
    /// Photo crops: smallest crop side, as a multiple of the model's side (>= 1:
    /// crops are never upsampled).
    pub min_zoom: f64,
    /// Photo crops: largest crop side, as a multiple of the model's side;
    /// capped per photo by its own size. The side is log-uniform in between.
    pub max_zoom: f64,
    /// Model-sized corpus images (e.g. a digit dataset): the largest shift in
    /// pixels, each axis uniform in [-max_shift, max_shift].
    pub max_shift: u32,
    /// Mirror each public image left-right with probability 1/2.
    pub flip: bool,
}

impl Default for ParamsBuilder {
    /// The reference code's defaults: k=4, upper=0.65, no private-weight bounds.
    fn default() -> Self {
        ParamsBuilder {
            k: 4,
            upper: 0.65,
            min_private_weight: None,
            max_private_weight: None,
            min_zoom: 1.0,
            max_zoom: 8.0,
            max_shift: 2,
            flip: true,
        }
    }
}

impl Default for Params {
    fn default() -> Self {
        // The default builder is valid by construction; the test suite holds it so.
        ParamsBuilder::default()
            .build()
            .unwrap_or_else(|_| unreachable!("default parameters are valid"))
    }
}

fn finite(name: &'static str, v: f64) -> Result<f64> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(Error::params(name, "must be a finite number"))
    }
}

impl ParamsBuilder {
    /// Checks every range and the consistency between fields.
    pub fn build(self) -> Result<Params> {
        if !(1..=MAX_K).contains(&self.k) {
            return Err(Error::params(
                "k",
                format!("must be 1..={MAX_K}, got {}", self.k),
            ));
        }
        let upper = finite("upper", self.upper)?;
        if !(upper > 0.0 && upper <= 1.0) {
            return Err(Error::params(
                "upper",
                format!("must be in (0, 1], got {upper}"),
            ));
        }
        if self.k > 1 && upper <= 1.0 / self.k as f64 {
            return Err(Error::params(
                "upper",
                format!(
                    "must exceed 1/k = {:.4} or no coefficient vector qualifies",
                    1.0 / self.k as f64
                ),
            ));
        }
        let check_weight = |name: &'static str, w: Option<f64>| -> Result<Option<f64>> {
            match w {
                None => Ok(None),
                Some(w) => {
                    let w = finite(name, w)?;
                    if (0.0..=1.0).contains(&w) {
                        Ok(Some(w))
                    } else {
                        Err(Error::params(name, format!("must be in [0, 1], got {w}")))
                    }
                }
            }
        };
        let lo = check_weight("min_private_weight", self.min_private_weight)?;
        let hi = check_weight("max_private_weight", self.max_private_weight)?;
        if let (Some(lo), Some(hi)) = (lo, hi)
            && lo > hi
        {
            return Err(Error::params(
                "min_private_weight",
                "exceeds max_private_weight",
            ));
        }
        if self.k > 1 {
            if let Some(lo) = lo
                && lo > upper
            {
                return Err(Error::params("min_private_weight", "exceeds upper"));
            }
            if let Some(hi) = hi
                && hi <= 0.0
            {
                return Err(Error::params("max_private_weight", "must be positive"));
            }
        }
        let min_zoom = finite("min_zoom", self.min_zoom)?;
        let max_zoom = finite("max_zoom", self.max_zoom)?;
        if !(1.0..=64.0).contains(&min_zoom) {
            return Err(Error::params(
                "min_zoom",
                format!("must be in [1, 64], got {min_zoom}"),
            ));
        }
        if !(min_zoom..=64.0).contains(&max_zoom) {
            return Err(Error::params(
                "max_zoom",
                format!("must be in [min_zoom, 64], got {max_zoom}"),
            ));
        }
        if self.max_shift > 64 {
            return Err(Error::params(
                "max_shift",
                format!("must be at most 64, got {}", self.max_shift),
            ));
        }
        Ok(Params {
            k: self.k,
            upper,
            min_private_weight: lo,
            max_private_weight: hi,
            min_zoom,
            max_zoom,
            max_shift: self.max_shift,
            flip: self.flip,
        })
    }
}

impl TryFrom<ParamsBuilder> for Params {
    type Error = Error;
    fn try_from(b: ParamsBuilder) -> Result<Params> {
        b.build()
    }
}

impl From<Params> for ParamsBuilder {
    fn from(p: Params) -> ParamsBuilder {
        ParamsBuilder {
            k: p.k,
            upper: p.upper,
            min_private_weight: p.min_private_weight,
            max_private_weight: p.max_private_weight,
            min_zoom: p.min_zoom,
            max_zoom: p.max_zoom,
            max_shift: p.max_shift,
            flip: p.flip,
        }
    }
}

impl Params {
    /// A builder starting from the reference defaults.
    pub fn builder() -> ParamsBuilder {
        ParamsBuilder::default()
    }
    /// Images per encryption, the private frame included.
    pub fn k(&self) -> usize {
        self.k
    }
    /// Cap on the largest coefficient.
    pub fn upper(&self) -> f64 {
        self.upper
    }
    /// Lower bound on the private frame's weight, if any.
    pub fn min_private_weight(&self) -> Option<f64> {
        self.min_private_weight
    }
    /// Upper bound on the private frame's weight, if any.
    pub fn max_private_weight(&self) -> Option<f64> {
        self.max_private_weight
    }
    /// Smallest photo crop side, in model sides.
    pub fn min_zoom(&self) -> f64 {
        self.min_zoom
    }
    /// Largest photo crop side, in model sides.
    pub fn max_zoom(&self) -> f64 {
        self.max_zoom
    }
    /// Largest shift of a model-sized corpus image, in pixels.
    pub fn max_shift(&self) -> u32 {
        self.max_shift
    }
    /// Whether public images are mirrored at random.
    pub fn flip(&self) -> bool {
        self.flip
    }
    /// The same parameters with another k (validated again).
    pub fn with_k(self, k: usize) -> Result<Params> {
        ParamsBuilder { k, ..self.into() }.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_reference() {
        let p = Params::default();
        assert_eq!(p.k(), 4);
        assert_eq!(p.upper(), 0.65);
    }

    #[test]
    fn rejects_out_of_range() {
        let bad = [
            ParamsBuilder {
                k: 0,
                ..Default::default()
            },
            ParamsBuilder {
                k: 9,
                ..Default::default()
            },
            ParamsBuilder {
                upper: 0.0,
                ..Default::default()
            },
            ParamsBuilder {
                upper: f64::NAN,
                ..Default::default()
            },
            ParamsBuilder {
                upper: 0.25,
                ..Default::default()
            },
            ParamsBuilder {
                min_private_weight: Some(0.7),
                ..Default::default()
            },
            ParamsBuilder {
                min_private_weight: Some(0.5),
                max_private_weight: Some(0.4),
                ..Default::default()
            },
            ParamsBuilder {
                max_private_weight: Some(1.5),
                ..Default::default()
            },
            ParamsBuilder {
                min_zoom: 0.5,
                ..Default::default()
            },
            ParamsBuilder {
                max_zoom: f64::INFINITY,
                ..Default::default()
            },
            ParamsBuilder {
                max_shift: 1000,
                ..Default::default()
            },
        ];
        for b in bad {
            let err = b.build().expect_err("should be rejected");
            assert!(matches!(err, Error::InvalidParams { .. }), "{b:?}: {err}");
        }
    }

    #[test]
    fn serde_goes_through_validation() {
        let p: Params = serde_json::from_str(r#"{"k": 2, "upper": 0.9}"#).unwrap();
        assert_eq!(p.k(), 2);
        assert!(serde_json::from_str::<Params>(r#"{"k": 12}"#).is_err());
        assert!(serde_json::from_str::<Params>(r#"{"kk": 2}"#).is_err());
    }
}
