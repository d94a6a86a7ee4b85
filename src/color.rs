//! Colour conversions shared by frames and the corpus.

/// BT.601 luma.
pub(crate) fn luma(r: f32, g: f32, b: f32) -> f32 {
    0.299 * r + 0.587 * g + 0.114 * b
}

/// BT.601 luma of an 8-bit RGB pixel, rounded to 8 bits.
pub(crate) fn luma_u8(r: u8, g: u8, b: u8) -> u8 {
    luma(r as f32, g as f32, b as f32).round().clamp(0.0, 255.0) as u8
}
