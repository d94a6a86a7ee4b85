//! Decoding image files (PNG, JPEG) within size limits: the one place that
//! sets how large an image a file may claim to be.

use std::path::Path;

use crate::error::{Error, Result};

/// How large a decoded image may be.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DecodeLimits {
    /// Largest width or height.
    pub max_side: u32,
    /// Largest allocation the decoder may make, in bytes.
    pub max_alloc: u64,
    /// Why, for the error: what the image is for.
    pub purpose: &'static str,
}

impl DecodeLimits {
    /// Corpus images ([`crate::pool::MAX_IMAGE_SIDE`] is this side).
    pub const CORPUS: DecodeLimits = DecodeLimits {
        max_side: 8192,
        max_alloc: 512 << 20,
        purpose: "a corpus image",
    };
    /// Frames ([`crate::MAX_FRAME_SIDE`] is this side): the most any model
    /// is given. 256 MiB holds an 8-bit RGB picture of 89 megapixels.
    pub const FRAME: DecodeLimits = DecodeLimits {
        max_side: 16384,
        max_alloc: 256 << 20,
        purpose: "a frame",
    };

    /// Frames for a model whose input is at most `model_side` pixels on a
    /// side. Detail beyond 64 times the model's side is averaged away by the
    /// resampling, so a larger picture costs memory and buys nothing; 4096
    /// (a 4K camera frame, a 12-megapixel photo) is always allowed. A small
    /// file that claims more (a 16000x16000 PNG is under 1 MB) is refused
    /// from its header, before anything that size is allocated.
    pub fn frame_for(model_side: u32) -> DecodeLimits {
        let side = model_side
            .saturating_mul(64)
            .clamp(4096, Self::FRAME.max_side);
        DecodeLimits {
            max_side: side,
            max_alloc: (u64::from(side) * u64::from(side) * 4).min(Self::FRAME.max_alloc),
            purpose: "a frame for this model",
        }
    }

    /// The same limits with at most `budget` bytes to allocate.
    pub fn within(self, budget: usize) -> DecodeLimits {
        DecodeLimits {
            max_alloc: self.max_alloc.min(budget as u64),
            ..self
        }
    }

    fn to_image(self) -> image::Limits {
        let mut limits = image::Limits::default();
        limits.max_image_width = Some(self.max_side);
        limits.max_image_height = Some(self.max_side);
        limits.max_alloc = Some(self.max_alloc);
        limits
    }
}

/// Decodes `bytes` (read from `path`, named in errors), guessing the format.
pub(crate) fn decode(
    path: &Path,
    bytes: &[u8],
    limits: DecodeLimits,
) -> Result<image::DynamicImage> {
    let fail = |reason: String| Error::ImageDecode {
        path: path.to_path_buf(),
        reason,
    };
    let reader = || {
        image::ImageReader::new(std::io::Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|e| fail(e.to_string()))
    };
    // The header alone says the size: refuse before decoding, in words.
    let (w, h) = reader()?
        .into_dimensions()
        .map_err(|e| fail(e.to_string()))?;
    if w > limits.max_side || h > limits.max_side {
        return Err(fail(format!(
            "{w}x{h} pixels is larger than {} allows ({} per side); scale it down first",
            limits.purpose, limits.max_side
        )));
    }
    let mut reader = reader()?;
    reader.limits(limits.to_image());
    reader.decode().map_err(|e| fail(e.to_string()))
}

/// Decodes PNG bytes embedded in another file; the error is the decoder's.
pub(crate) fn decode_png(
    png: &[u8],
    limits: DecodeLimits,
) -> std::result::Result<image::DynamicImage, String> {
    let mut reader =
        image::ImageReader::with_format(std::io::Cursor::new(png), image::ImageFormat::Png);
    reader.limits(limits.to_image());
    reader.decode().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_limits_follow_the_model() {
        let small = DecodeLimits::frame_for(28);
        assert_eq!((small.max_side, small.max_alloc), (4096, 64 << 20));
        let large = DecodeLimits::frame_for(224);
        assert_eq!(large.max_side, 224 * 64);
        assert_eq!(large.max_alloc, DecodeLimits::FRAME.max_alloc);
        assert_eq!(DecodeLimits::frame_for(u32::MAX).max_side, 16384);
    }

    #[test]
    fn a_picture_too_large_for_the_model_is_refused_from_its_header() {
        let img = image::GrayImage::new(5000, 10);
        let mut png = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let err = decode(Path::new("big.png"), &png, DecodeLimits::frame_for(28)).unwrap_err();
        assert!(err.to_string().contains("5000x10"), "{err}");
        assert!(err.to_string().contains("4096 per side"), "{err}");
        let ok = decode(Path::new("big.png"), &png, DecodeLimits::frame_for(224)).unwrap();
        assert_eq!(ok.width(), 5000);
    }
}
