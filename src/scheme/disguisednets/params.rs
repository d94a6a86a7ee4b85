//! DisguisedNets' public parameters, as the sidecar states them.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::spec::Geometry;

/// Largest block side: a key holds one `block x block` matrix per block
/// position, and the GPU reads a whole block row per output element.
pub const MAX_BLOCK: u32 = 32;

/// Largest noise standard deviation, in the model's normalised units.
const MAX_NOISE: f64 = 100.0;

/// How a DisguisedNets model disguises its frames: the block side, the
/// noise, and which deployment key (by its public id). No key material.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisguiseParams {
    /// Side of the square blocks each channel is cut into (2..=32; divides
    /// the model's height and width).
    pub block: u32,
    /// Standard deviation of the fresh Gaussian noise added to every
    /// element, in the model's normalised units; 0 for none.
    #[serde(default)]
    pub noise: f64,
    /// The public id of the deployment key the model was trained with
    /// ([`crate::DisguiseKey::id`]); a key with another id is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
}

impl DisguiseParams {
    /// Checks the parameters against the model's geometry.
    pub(crate) fn validate(&self, g: &Geometry) -> Result<()> {
        if !(2..=MAX_BLOCK).contains(&self.block) {
            return Err(Error::InvalidSpec(format!(
                "disguise.block must be 2..={MAX_BLOCK}, got {}",
                self.block
            )));
        }
        let b = self.block as usize;
        if !g.height.is_multiple_of(b) || !g.width.is_multiple_of(b) {
            return Err(Error::InvalidSpec(format!(
                "disguise.block {b} must divide the model's {}x{} input",
                g.height, g.width
            )));
        }
        if !self.noise.is_finite() || !(0.0..=MAX_NOISE).contains(&self.noise) {
            return Err(Error::InvalidSpec(format!(
                "disguise.noise must be within [0, {MAX_NOISE}], got {}",
                self.noise
            )));
        }
        if let Some(id) = &self.key_id
            && (id.len() != super::key::ID_HEX || !id.bytes().all(|c| c.is_ascii_hexdigit()))
        {
            return Err(Error::InvalidSpec(format!(
                "disguise.key_id must be {} hex digits",
                super::key::ID_HEX
            )));
        }
        Ok(())
    }
}
