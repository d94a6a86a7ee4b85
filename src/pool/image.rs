//! One corpus image: 8-bit grey or RGB pixels, validated on construction.

use std::path::Path;

use super::MAX_IMAGE_SIDE;
use crate::color::luma_u8;
use crate::error::{Error, Result};
use crate::imageio::DecodeLimits;

/// One corpus image: 8-bit grey or RGB, interleaved, rows packed.
#[derive(Clone, PartialEq, Eq)]
pub struct PoolImage {
    width: u32,
    height: u32,
    channels: u8,
    pixels: Vec<u8>,
}

impl std::fmt::Debug for PoolImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PoolImage({}x{}x{})",
            self.width, self.height, self.channels
        )
    }
}

impl PoolImage {
    /// Wraps packed 8-bit pixels (1 = grey, 3 = RGB channels).
    pub fn new(width: u32, height: u32, channels: u8, pixels: Vec<u8>) -> Result<PoolImage> {
        if !(channels == 1 || channels == 3) {
            return Err(Error::InvalidPool(format!(
                "images must have 1 or 3 channels, got {channels}"
            )));
        }
        if width == 0 || height == 0 || width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE {
            return Err(Error::InvalidPool(format!(
                "image size {width}x{height} outside 1..={MAX_IMAGE_SIDE}"
            )));
        }
        let expected = width as usize * height as usize * channels as usize;
        if pixels.len() != expected {
            return Err(Error::InvalidPool(format!(
                "image {width}x{height}x{channels} needs {expected} bytes, got {}",
                pixels.len()
            )));
        }
        Ok(PoolImage {
            width,
            height,
            channels,
            pixels,
        })
    }

    /// From a decoded `image` value; alpha is dropped, 16-bit is reduced to 8.
    pub fn from_dynamic(img: &image::DynamicImage) -> Result<PoolImage> {
        if img.color().has_color() {
            let rgb = img.to_rgb8();
            PoolImage::new(rgb.width(), rgb.height(), 3, rgb.into_raw())
        } else {
            let l = img.to_luma8();
            PoolImage::new(l.width(), l.height(), 1, l.into_raw())
        }
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }
    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }
    /// 1 (grey) or 3 (RGB).
    pub fn channels(&self) -> u8 {
        self.channels
    }
    /// The pixels, interleaved, rows packed.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    pub(super) fn to_dynamic(&self) -> image::DynamicImage {
        let (w, h) = (self.width, self.height);
        let buf = self.pixels.clone();
        // Sizes were validated in `new`, so the buffers always fit.
        match self.channels {
            1 => image::GrayImage::from_raw(w, h, buf).map(image::DynamicImage::ImageLuma8),
            _ => image::RgbImage::from_raw(w, h, buf).map(image::DynamicImage::ImageRgb8),
        }
        .unwrap_or_else(|| unreachable!("validated image size"))
    }

    /// Downscales (never upscales) so that the shorter side is at most `side`.
    pub fn downscaled(&self, side: u32) -> Result<PoolImage> {
        let short = self.width.min(self.height);
        if short <= side || side == 0 {
            return Ok(self.clone());
        }
        let scale = side as f64 / short as f64;
        let w = ((self.width as f64 * scale).round() as u32).max(1);
        let h = ((self.height as f64 * scale).round() as u32).max(1);
        let img = self
            .to_dynamic()
            .resize_exact(w, h, image::imageops::FilterType::Lanczos3);
        PoolImage::from_dynamic(&img)
    }

    /// The same image in grey (BT.601 luma, rounded).
    pub fn to_gray(&self) -> PoolImage {
        if self.channels == 1 {
            return self.clone();
        }
        PoolImage {
            width: self.width,
            height: self.height,
            channels: 1,
            pixels: self
                .pixels
                .chunks_exact(3)
                .map(|p| luma_u8(p[0], p[1], p[2]))
                .collect(),
        }
    }
}

/// Decodes an image file's bytes (`path` names it in errors) within the
/// corpus limits.
pub(super) fn decode_file(path: &Path, bytes: &[u8]) -> Result<PoolImage> {
    let img = crate::imageio::decode(path, bytes, DecodeLimits::CORPUS)?;
    PoolImage::from_dynamic(&img).map_err(|e| Error::ImageDecode {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}
