//! Frames of one plane of packed pixels: grey, RGB, RGBA, BGRA.

use fast_image_resize as fr;

use super::Orientation;
use crate::error::{Error, Result};

/// Largest accepted frame side, in pixels.
pub const MAX_FRAME_SIDE: u32 = crate::imageio::DecodeLimits::FRAME.max_side;

/// The byte layout of a frame's pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PixelFormat {
    /// One byte per pixel, grey.
    Gray8,
    /// Three bytes per pixel: red, green, blue.
    Rgb8,
    /// Four bytes per pixel: red, green, blue, alpha (ignored).
    Rgba8,
    /// Four bytes per pixel: blue, green, red, alpha (ignored).
    Bgra8,
}

impl PixelFormat {
    /// Bytes per pixel.
    pub fn bytes_per_pixel(self) -> usize {
        match self {
            PixelFormat::Gray8 => 1,
            PixelFormat::Rgb8 => 3,
            PixelFormat::Rgba8 | PixelFormat::Bgra8 => 4,
        }
    }
    pub(super) fn fr_type(self) -> fr::PixelType {
        match self {
            PixelFormat::Gray8 => fr::PixelType::U8,
            PixelFormat::Rgb8 => fr::PixelType::U8x3,
            PixelFormat::Rgba8 | PixelFormat::Bgra8 => fr::PixelType::U8x4,
        }
    }
    /// Byte offsets of R, G, B within a pixel.
    pub(super) fn rgb_offsets(self) -> [usize; 3] {
        match self {
            PixelFormat::Gray8 => [0, 0, 0],
            PixelFormat::Rgb8 | PixelFormat::Rgba8 => [0, 1, 2],
            PixelFormat::Bgra8 => [2, 1, 0],
        }
    }
}

/// A borrowed, validated camera frame with one plane of packed pixels.
#[derive(Clone, Copy)]
pub struct FrameRef<'a> {
    pub(super) data: &'a [u8],
    pub(super) width: u32,
    pub(super) height: u32,
    pub(super) stride: usize,
    pub(super) format: PixelFormat,
    pub(super) orientation: Orientation,
}

impl std::fmt::Debug for FrameRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "FrameRef({}x{} {:?}, stride {})",
            self.width, self.height, self.format, self.stride
        )
    }
}

impl<'a> FrameRef<'a> {
    /// A frame whose rows are `stride` bytes apart.
    pub fn new(
        data: &'a [u8],
        width: u32,
        height: u32,
        stride: usize,
        format: PixelFormat,
    ) -> Result<Self> {
        super::check_size(width, height)?;
        let row = width as usize * format.bytes_per_pixel();
        if stride < row {
            return Err(Error::InvalidFrame(format!(
                "stride {stride} is shorter than a row ({row} bytes)"
            )));
        }
        let needed = stride
            .checked_mul(height as usize - 1)
            .and_then(|v| v.checked_add(row))
            .ok_or_else(|| Error::InvalidFrame("stride too large".into()))?;
        if data.len() < needed {
            return Err(Error::InvalidFrame(format!(
                "buffer has {} bytes, a {width}x{height} {format:?} frame with stride {stride} needs {needed}",
                data.len()
            )));
        }
        Ok(FrameRef {
            data,
            width,
            height,
            stride,
            format,
            orientation: Orientation::default(),
        })
    }

    /// A frame with tightly packed rows; the buffer must be exactly the size.
    pub fn packed(data: &'a [u8], width: u32, height: u32, format: PixelFormat) -> Result<Self> {
        let row = width as usize * format.bytes_per_pixel();
        let expected = row.saturating_mul(height as usize);
        if data.len() != expected {
            return Err(Error::InvalidFrame(format!(
                "buffer has {} bytes, a packed {width}x{height} {format:?} frame has {expected}",
                data.len()
            )));
        }
        FrameRef::new(data, width, height, row, format)
    }

    /// The same frame, to be turned upright (and mirrored) as `orientation`
    /// says before it is cropped to the model.
    pub fn with_orientation(mut self, orientation: Orientation) -> Self {
        self.orientation = orientation;
        self
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }
    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }
    /// The pixel layout.
    pub fn format(&self) -> PixelFormat {
        self.format
    }

    pub(super) fn row(&self, y: usize) -> &'a [u8] {
        let start = y * self.stride;
        &self.data[start..start + self.width as usize * self.format.bytes_per_pixel()]
    }
}
