//! The model's sidecar: what the model expects as input, and which encryption
//! it was trained on. Stored as JSON next to each ONNX file.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::color::ColorMatrix;
use crate::error::{Error, Result};
use crate::params::Params;
use crate::scheme::disguisednets::params::DisguiseParams;

/// An encryption scheme, as a sidecar, an [`crate::Encryption`] and a
/// server's model metadata name it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Scheme {
    /// InstaHide with one-time keys: the frame mixed with k-1 keyed crops of a
    /// public corpus, then a random sign per element.
    #[default]
    #[serde(rename = "instahide")]
    InstaHide,
    /// DisguisedNets (Sharma and Chen): secret orthogonal matrices per block
    /// position and a secret permutation of the blocks, one key per
    /// deployment, optional noise.
    #[serde(rename = "disguisednets")]
    DisguisedNets,
}

impl Scheme {
    fn is_default(&self) -> bool {
        *self == Scheme::default()
    }

    /// The scheme's one name: in sidecars, in [`crate::EncryptionMeta`], and
    /// as the `scheme` parameter of a server's model metadata.
    pub const fn name(self) -> &'static str {
        match self {
            Scheme::InstaHide => "instahide",
            Scheme::DisguisedNets => "disguisednets",
        }
    }
}

impl std::fmt::Display for Scheme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Scheme {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Scheme> {
        match s {
            "instahide" => Ok(Scheme::InstaHide),
            "disguisednets" => Ok(Scheme::DisguisedNets),
            other => Err(crate::Error::UnknownScheme(
                other.chars().take(64).collect(),
            )),
        }
    }
}

/// Largest accepted model side, in pixels; keeps every size computation far
/// from overflow.
pub const MAX_MODEL_SIDE: usize = 4096;

/// The model's input geometry, channels first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Geometry {
    /// 1 (grey) or 3 (RGB).
    pub channels: usize,
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
}

impl Geometry {
    /// Elements per tensor (C*H*W).
    pub fn len(&self) -> usize {
        self.channels * self.height * self.width
    }
    /// Pixels per channel plane.
    pub fn plane(&self) -> usize {
        self.height * self.width
    }
    /// Never true for a validated geometry; here for API symmetry with `len`.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// `[C, H, W]`.
    pub fn shape(&self) -> [usize; 3] {
        [self.channels, self.height, self.width]
    }
    fn validate(&self) -> Result<()> {
        if !(self.channels == 1 || self.channels == 3) {
            return Err(Error::InvalidSpec(format!(
                "channels must be 1 or 3, got {}",
                self.channels
            )));
        }
        for (name, v) in [("height", self.height), ("width", self.width)] {
            if !(1..=MAX_MODEL_SIDE).contains(&v) {
                return Err(Error::InvalidSpec(format!(
                    "{name} must be 1..={MAX_MODEL_SIDE}, got {v}"
                )));
            }
        }
        Ok(())
    }
}

/// Per-channel normalisation `(v/255 - mean) / std`, folded into one
/// multiply-add `v * scale + offset` on raw 0..255 values. CPU and GPU both use
/// exactly these f32 constants so that they agree to the last bit or two.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Affine {
    /// Per-channel factor.
    pub scale: [f32; 3],
    /// Per-channel offset.
    pub offset: [f32; 3],
}

impl Affine {
    fn new(mean: &[f64], std: &[f64]) -> Affine {
        let mut a = Affine {
            scale: [0.0; 3],
            offset: [0.0; 3],
        };
        for c in 0..mean.len().min(3) {
            a.scale[c] = (1.0 / (255.0 * std[c])) as f32;
            a.offset[c] = (-mean[c] / std[c]) as f32;
        }
        a
    }
}

/// A validated model sidecar.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawSpec", into = "RawSpec")]
pub struct ModelSpec {
    raw: RawSpec,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    name: String,
    /// The encryption scheme; InstaHide when absent, and left out when
    /// InstaHide (so InstaHide sidecars read the same by every version).
    #[serde(default, skip_serializing_if = "Scheme::is_default")]
    scheme: Scheme,
    input: Geometry,
    mean: Vec<f64>,
    std: Vec<f64>,
    /// Normalisation of the public images; the private one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pool_mean: Option<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pool_std: Option<Vec<f64>>,
    /// Class names by index; absent for a spec without a model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    labels: Option<Vec<String>>,
    /// InstaHide's parameters (InstaHide sidecars only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    encryption: Option<Params>,
    /// DisguisedNets' parameters (DisguisedNets sidecars only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    disguise: Option<DisguiseParams>,
    /// The matrix of YUV frames that do not name theirs; BT.601 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    yuv_matrix: Option<ColorMatrix>,
    /// Fingerprint of the public corpus the model was trained with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pool_fingerprint: Option<String>,
}

impl TryFrom<RawSpec> for ModelSpec {
    type Error = Error;
    fn try_from(raw: RawSpec) -> Result<ModelSpec> {
        raw.input.validate()?;
        let c = raw.input.channels;
        let check = |name: &str, mean: &[f64], std: &[f64]| -> Result<()> {
            if mean.len() != c || std.len() != c {
                return Err(Error::InvalidSpec(format!(
                    "{name}: mean and std need {c} values each"
                )));
            }
            // Pixel values are normalised as (v/255 - mean) / std in f32:
            // a std below 1e-6 or a mean beyond 1e6 overflows or loses the
            // picture, so such a sidecar is refused here, not at run time.
            if mean.iter().any(|m| !m.is_finite() || m.abs() > 1e6)
                || std.iter().any(|s| !s.is_finite() || *s < 1e-6 || *s > 1e6)
            {
                return Err(Error::InvalidSpec(format!(
                    "{name}: mean must be within ±1e6 and std within [1e-6, 1e6]"
                )));
            }
            Ok(())
        };
        check("normalisation", &raw.mean, &raw.std)?;
        match (&raw.pool_mean, &raw.pool_std) {
            (None, None) => {}
            (Some(m), Some(s)) => check("pool normalisation", m, s)?,
            _ => {
                return Err(Error::InvalidSpec(
                    "pool_mean and pool_std go together".into(),
                ));
            }
        }
        match (raw.scheme, &raw.encryption, &raw.disguise) {
            (Scheme::InstaHide, Some(params), None) => {
                let max_shift = params.max_shift() as usize;
                if 2 * max_shift >= raw.input.height.min(raw.input.width) {
                    return Err(Error::InvalidSpec(format!(
                        "max_shift {max_shift} is too large for a {}x{} model",
                        raw.input.height, raw.input.width
                    )));
                }
            }
            (Scheme::DisguisedNets, None, Some(d)) => d.validate(&raw.input)?,
            (Scheme::InstaHide, _, _) => {
                return Err(Error::InvalidSpec(
                    "an InstaHide sidecar needs `encryption` and no `disguise`".into(),
                ));
            }
            (Scheme::DisguisedNets, _, _) => {
                return Err(Error::InvalidSpec(
                    "a DisguisedNets sidecar needs `disguise` and no `encryption`".into(),
                ));
            }
        }
        if let Some(labels) = &raw.labels {
            // An empty list is a mistake, not a model with no classes: a
            // spec without a model leaves the field out.
            if labels.is_empty() {
                return Err(Error::InvalidSpec(
                    "labels: the list is empty; give one per class, or leave the field out".into(),
                ));
            }
            if labels.iter().any(|l| l.is_empty() || l.len() > 256) {
                return Err(Error::InvalidSpec(
                    "labels: each must have 1 to 256 bytes".into(),
                ));
            }
        }
        if raw.name.is_empty() || raw.name.len() > 128 {
            return Err(Error::InvalidSpec(
                "name must have 1 to 128 characters".into(),
            ));
        }
        Ok(ModelSpec { raw })
    }
}

impl From<ModelSpec> for RawSpec {
    fn from(s: ModelSpec) -> RawSpec {
        s.raw
    }
}

const FASHION_MNIST_LABELS: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

impl ModelSpec {
    /// Builds and validates an InstaHide spec.
    pub fn new(
        name: &str,
        input: Geometry,
        mean: Vec<f64>,
        std: Vec<f64>,
        encryption: Params,
    ) -> Result<ModelSpec> {
        ModelSpec::try_from(RawSpec {
            name: name.into(),
            scheme: Scheme::InstaHide,
            input,
            mean,
            std,
            pool_mean: None,
            pool_std: None,
            labels: None,
            encryption: Some(encryption),
            disguise: None,
            yuv_matrix: None,
            pool_fingerprint: None,
        })
    }

    /// A 28x28 grey model with Fashion-MNIST's statistics and labels, and the
    /// reference encryption defaults.
    pub fn fashion_mnist() -> ModelSpec {
        let s = ModelSpec::new(
            "fashion-mnist",
            Geometry {
                channels: 1,
                height: 28,
                width: 28,
            },
            vec![0.2860],
            vec![0.3530],
            Params::default(),
        )
        .unwrap_or_else(|_| unreachable!("built-in spec is valid"));
        s.with_labels(FASHION_MNIST_LABELS.iter().map(|l| l.to_string()).collect())
    }

    /// MNIST digits: 28x28 grey, the dataset's own mean and std, labels "0".."9".
    pub fn mnist() -> ModelSpec {
        let s = ModelSpec::new(
            "mnist",
            Geometry {
                channels: 1,
                height: 28,
                width: 28,
            },
            vec![0.1307],
            vec![0.3081],
            Params::default(),
        )
        .unwrap_or_else(|_| unreachable!("built-in spec is valid"));
        s.with_labels((0..10).map(|d| d.to_string()).collect())
    }

    /// A 224x224 RGB model with ImageNet statistics and the reference defaults.
    pub fn imagenet_224() -> ModelSpec {
        ModelSpec::new(
            "imagenet-224",
            Geometry {
                channels: 3,
                height: 224,
                width: 224,
            },
            vec![0.485, 0.456, 0.406],
            vec![0.229, 0.224, 0.225],
            Params::default(),
        )
        .unwrap_or_else(|_| unreachable!("built-in spec is valid"))
    }

    /// Reads and validates a JSON sidecar.
    pub fn from_json_file(path: &Path) -> Result<ModelSpec> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_json(&text).map_err(|e| match e {
            Error::InvalidSpec(m) => Error::InvalidSpec(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    /// Parses and validates JSON text.
    pub fn from_json(text: &str) -> Result<ModelSpec> {
        serde_json::from_str(text).map_err(|e| Error::InvalidSpec(e.to_string()))
    }

    /// Pretty JSON, as written next to a model.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| unreachable!("spec serialises"))
    }

    /// The model's name (also its name on a server).
    pub fn name(&self) -> &str {
        &self.raw.name
    }
    /// The encryption scheme the model was trained on.
    pub fn scheme(&self) -> Scheme {
        self.raw.scheme
    }
    /// The matrix of YUV frames that do not name theirs (the sidecar's
    /// `yuv_matrix`, `"bt601"` or `"bt709"`; BT.601 when absent).
    pub fn yuv_matrix(&self) -> ColorMatrix {
        self.raw.yuv_matrix.unwrap_or_default()
    }
    /// The model's input geometry.
    pub fn geometry(&self) -> Geometry {
        self.raw.input
    }
    /// The InstaHide parameters the model was trained with (the defaults,
    /// unused, for a model of another scheme: see [`ModelSpec::disguise`]).
    pub fn params(&self) -> &Params {
        static UNUSED: std::sync::LazyLock<Params> = std::sync::LazyLock::new(Params::default);
        self.raw.encryption.as_ref().unwrap_or(&UNUSED)
    }
    /// The DisguisedNets parameters, for a DisguisedNets model.
    pub fn disguise(&self) -> Option<&DisguiseParams> {
        self.raw.disguise.as_ref()
    }
    /// The same spec disguised with DisguisedNets instead (the InstaHide
    /// parameters and corpus binding dropped), validated again.
    pub fn with_disguise(&self, disguise: DisguiseParams) -> Result<ModelSpec> {
        ModelSpec::try_from(RawSpec {
            scheme: Scheme::DisguisedNets,
            encryption: None,
            disguise: Some(disguise),
            pool_fingerprint: None,
            pool_mean: None,
            pool_std: None,
            ..self.raw.clone()
        })
    }
    /// Class labels, by class index.
    pub fn labels(&self) -> &[String] {
        self.raw.labels.as_deref().unwrap_or_default()
    }
    /// Per-channel mean of the private frame's normalisation.
    pub fn mean(&self) -> &[f64] {
        &self.raw.mean
    }
    /// Per-channel standard deviation of the private frame's normalisation.
    pub fn std(&self) -> &[f64] {
        &self.raw.std
    }
    /// The fingerprint (`sha256:<hex>`) of the corpus the model was trained
    /// with, if the sidecar binds one.
    pub fn pool_fingerprint(&self) -> Option<&str> {
        self.raw.pool_fingerprint.as_deref()
    }
    /// Normalisation of the private frame.
    pub(crate) fn frame_affine(&self) -> Affine {
        Affine::new(&self.raw.mean, &self.raw.std)
    }
    /// Normalisation of the public images.
    #[cfg_attr(not(feature = "hazmat"), allow(dead_code))]
    pub(crate) fn pool_affine(&self) -> Affine {
        match (&self.raw.pool_mean, &self.raw.pool_std) {
            (Some(m), Some(s)) => Affine::new(m, s),
            _ => self.frame_affine(),
        }
    }
    /// The same spec with other encryption parameters (validated again).
    pub fn with_params(&self, params: Params) -> Result<ModelSpec> {
        ModelSpec::try_from(RawSpec {
            encryption: Some(params),
            ..self.raw.clone()
        })
    }
    /// The same spec with class labels.
    pub fn with_labels(mut self, labels: Vec<String>) -> ModelSpec {
        self.raw.labels = (!labels.is_empty()).then_some(labels);
        self
    }
    /// The same spec bound to a corpus fingerprint.
    pub fn with_pool_fingerprint(mut self, fingerprint: Option<String>) -> ModelSpec {
        self.raw.pool_fingerprint = fingerprint;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip() {
        let s = ModelSpec::fashion_mnist();
        let back = ModelSpec::from_json(&s.to_json()).unwrap();
        assert_eq!(s, back);
    }

    #[test]
    fn the_scheme_field_names_instahide_or_is_absent() {
        let s = ModelSpec::fashion_mnist();
        let json = s.to_json();
        assert!(!json.contains("scheme"), "{json}");
        let back = ModelSpec::from_json(&json).unwrap();
        assert_eq!(back.scheme(), Scheme::InstaHide);
        let named = json.replacen('{', "{\"scheme\": \"instahide\",", 1);
        assert_eq!(ModelSpec::from_json(&named).unwrap(), s);
        assert_eq!("instahide".parse::<Scheme>().unwrap(), Scheme::InstaHide);
        assert!(matches!(
            "rot13".parse::<Scheme>(),
            Err(Error::UnknownScheme(_))
        ));
    }

    #[test]
    fn rejects_inconsistent_sidecars() {
        let good = ModelSpec::imagenet_224().to_json();
        let cases = [
            good.replace("\"channels\": 3", "\"channels\": 2"),
            good.replace("\"width\": 224", "\"width\": 0"),
            good.replace("0.229", "-0.229"),
            good.replace("0.229", "1e-45"),
            good.replace("0.485", "1e300"),
            good.replace("0.485,", ""),
            good.replace("\"k\": 4", "\"k\": 40"),
            good.replacen('{', "{\"scheme\": \"rot13\",", 1),
            good.replacen('{', "{\"labels\": [],", 1),
            good.replacen('{', "{\"labels\": [\"cat\", \"\"],", 1),
            "{not json".to_string(),
        ];
        // A spec without labels (encryption only) leaves the field out.
        assert!(!good.contains("labels"), "{good}");
        let labelled = good.replacen('{', "{\"labels\": [\"cat\", \"dog\"],", 1);
        assert_eq!(
            ModelSpec::from_json(&labelled).unwrap().labels(),
            ["cat", "dog"]
        );
        for c in cases {
            assert!(
                matches!(ModelSpec::from_json(&c), Err(Error::InvalidSpec(_))),
                "{c}"
            );
        }
    }
}
