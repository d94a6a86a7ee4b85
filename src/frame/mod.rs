//! Camera frames in, model-shaped normalised tensors out.
//!
//! Frames come as one plane of packed pixels ([`FrameRef`]: grey, RGB, RGBA,
//! BGRA) or as camera-native YUV 4:2:0 planes ([`YuvFrame`]: NV12, NV21,
//! I420, `YUV_420_888`), each with its strides and an [`Orientation`].
//! Preprocessing, in order:
//! 1. centre-crop the upright frame to the model's aspect ratio (whole
//!    pixels), done in the sensor's own orientation;
//! 2. resize to the model's size with a bilinear (triangle) convolution filter
//!    whose support widens when downscaling, so it averages rather than
//!    aliases (`fast_image_resize`, `Convolution(Bilinear)`); skipped when the
//!    crop already has the model's size; a YUV frame is converted to RGB
//!    (8-bit, as OpenCV's `cvtColor` does) on the cropped region only, and a
//!    1-channel model reads its luma plane alone;
//! 3. turn the model-sized result upright (rotation, mirror);
//! 4. convert channels: RGB to grey by BT.601 luma for 1-channel models, grey
//!    replicated for 3-channel models; alpha is ignored;
//! 5. scale to [0, 1] and normalise with the spec's per-channel mean and std.

mod orient;
mod packed;
mod preprocess;
mod tensor;
mod yuv;

pub use crate::color::{ColorMatrix, ColorRange};
pub use orient::{Orientation, Rotation};
pub use packed::{FrameRef, MAX_FRAME_SIDE, PixelFormat};
pub use preprocess::Preprocessor;
pub use tensor::PlainTensor;
pub use yuv::{Plane, YuvFrame};

use crate::error::{Error, Result};

/// Errors unless a frame of `width` x `height` is non-empty and within
/// [`MAX_FRAME_SIDE`] per side.
fn check_size(width: u32, height: u32) -> Result<()> {
    if width == 0 || height == 0 {
        return Err(Error::InvalidFrame(format!(
            "zero-size frame {width}x{height}"
        )));
    }
    if width > MAX_FRAME_SIDE || height > MAX_FRAME_SIDE {
        return Err(Error::InvalidFrame(format!(
            "frame {width}x{height} exceeds {MAX_FRAME_SIDE} per side"
        )));
    }
    Ok(())
}

/// Reads an image file (PNG, JPEG) into an 8-bit RGB frame buffer for a
/// model with input `model`; the pixels are wiped when the buffer is
/// dropped. A picture more than 64 times the model's side (and over 4096
/// pixels) on either side is refused from the file's header: it would cost
/// memory and add nothing the model can see. Scale such a picture down first.
pub fn load_image_file(
    path: &std::path::Path,
    model: &crate::Geometry,
) -> Result<(zeroize::Zeroizing<Vec<u8>>, u32, u32)> {
    let bytes = zeroize::Zeroizing::new(std::fs::read(path).map_err(|e| Error::io(path, e))?);
    let limits = crate::imageio::DecodeLimits::frame_for(
        u32::try_from(model.height.max(model.width)).unwrap_or(u32::MAX),
    );
    let img = crate::imageio::decode(path, &bytes, limits)?.into_rgb8();
    let (w, h) = img.dimensions();
    Ok((zeroize::Zeroizing::new(img.into_raw()), w, h))
}
