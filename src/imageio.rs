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
}

impl DecodeLimits {
    /// Corpus images ([`crate::pool::MAX_IMAGE_SIDE`] is this side).
    pub const CORPUS: DecodeLimits = DecodeLimits {
        max_side: 8192,
        max_alloc: 512 << 20,
    };
    /// Frames ([`crate::MAX_FRAME_SIDE`] is this side). 256 MiB holds an
    /// 8-bit RGB picture of 89 megapixels, more than any camera frame; a
    /// small file claiming more (a 16000x16000 PNG is under 1 MB) is refused
    /// from its header, before anything that size is allocated.
    pub const FRAME: DecodeLimits = DecodeLimits {
        max_side: 16384,
        max_alloc: 256 << 20,
    };

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
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| fail(e.to_string()))?;
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
