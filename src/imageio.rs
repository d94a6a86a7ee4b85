//! Decoding image files (PNG, JPEG) with size limits, for frames and corpora.

use std::path::Path;

use crate::error::{Error, Result};

/// Decodes `bytes` (read from `path`, named in errors), refusing images with a
/// side over `max_side` or needing more than `max_alloc` bytes.
pub(crate) fn decode(
    path: &Path,
    bytes: &[u8],
    max_side: u32,
    max_alloc: u64,
) -> Result<image::DynamicImage> {
    let fail = |reason: String| Error::ImageDecode {
        path: path.to_path_buf(),
        reason,
    };
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| fail(e.to_string()))?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(max_side);
    limits.max_image_height = Some(max_side);
    limits.max_alloc = Some(max_alloc);
    reader.limits(limits);
    reader.decode().map_err(|e| fail(e.to_string()))
}
