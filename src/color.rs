//! Colour: the matrices and ranges of YUV frames, and the luma that frames
//! and the corpus share.

use serde::{Deserialize, Serialize};

/// BT.601 luma.
pub(crate) fn luma(r: f32, g: f32, b: f32) -> f32 {
    0.299 * r + 0.587 * g + 0.114 * b
}

/// BT.601 luma of an 8-bit RGB pixel, rounded to 8 bits.
pub(crate) fn luma_u8(r: u8, g: u8, b: u8) -> u8 {
    luma(r as f32, g as f32, b as f32).round().clamp(0.0, 255.0) as u8
}

/// Whether luma spans 16..=235 (and chroma 16..=240) or all of 0..=255.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ColorRange {
    /// Video (limited) range: AVFoundation's `420v`, most video.
    #[default]
    Video,
    /// Full range: AVFoundation's `420f`, JPEG, CameraX's analysis frames.
    Full,
}

/// The matrix between RGB and YUV.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ColorMatrix {
    /// ITU-R BT.601 (standard definition; most camera analysis streams).
    #[default]
    #[serde(rename = "bt601")]
    Bt601,
    /// ITU-R BT.709 (high definition video).
    #[serde(rename = "bt709")]
    Bt709,
}
