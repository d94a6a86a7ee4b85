//! The private input of one encryption.

use zeroize::Zeroize;

use crate::error::{Error, Result};
use crate::spec::Geometry;

/// A normalised tensor in the model's geometry (C x H x W, channels first):
/// the private input of one encryption. Not `Clone` (each copy of a private
/// frame is one more to wipe); its values are zeroed on drop.
#[derive(PartialEq)]
pub struct PlainTensor {
    geometry: Geometry,
    data: Vec<f32>,
}

impl std::fmt::Debug for PlainTensor {
    // Never print pixel values: they are the private frame.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PlainTensor({:?})", self.geometry.shape())
    }
}

impl PlainTensor {
    /// Wraps already-preprocessed values; they must be finite.
    pub fn new(geometry: Geometry, data: Vec<f32>) -> Result<PlainTensor> {
        if data.len() != geometry.len() {
            return Err(Error::InvalidFrame(format!(
                "tensor has {} values, the model's {:?} needs {}",
                data.len(),
                geometry.shape(),
                geometry.len()
            )));
        }
        if data.iter().any(|v| !v.is_finite()) {
            return Err(Error::NonFinite("frame tensor"));
        }
        Ok(PlainTensor { geometry, data })
    }
    /// The model geometry.
    pub fn geometry(&self) -> Geometry {
        self.geometry
    }
    /// The values, channels first.
    pub fn data(&self) -> &[f32] {
        &self.data
    }
}

impl Drop for PlainTensor {
    fn drop(&mut self) {
        self.data.zeroize();
    }
}
