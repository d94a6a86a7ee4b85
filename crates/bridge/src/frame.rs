//! A camera frame as a bridge receives it: a format code, a size, up to three
//! plane descriptors and an orientation, checked and preprocessed in place.

use edgehide::{
    ColorMatrix, ColorRange, FrameRef, Orientation, PixelFormat, PlainTensor, Plane, Preprocessor,
    Rotation, YuvFrame,
};

use crate::{BridgeError, Result, Status};

/// Frame format codes, stable across bridges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameFormat {
    /// NV12: luma plane, then interleaved U, V (AVFoundation `420v`/`420f`).
    Nv12,
    /// NV21: luma plane, then interleaved V, U.
    Nv21,
    /// I420: luma, U and V planes.
    I420,
    /// Any YUV 4:2:0 with per-plane row and pixel strides (Android's
    /// `YUV_420_888`).
    Yuv420,
    /// One byte per pixel, grey.
    Gray8,
    /// Packed RGB.
    Rgb8,
    /// Packed RGBA (alpha ignored).
    Rgba8,
    /// Packed BGRA (alpha ignored; AVFoundation's `BGRA`).
    Bgra8,
}

impl FrameFormat {
    /// The format with code `code` (1 NV12, 2 NV21, 3 I420, 4 YUV_420_888,
    /// 10 gray, 11 RGB, 12 RGBA, 13 BGRA).
    pub fn from_code(code: u32) -> Result<FrameFormat> {
        Ok(match code {
            1 => FrameFormat::Nv12,
            2 => FrameFormat::Nv21,
            3 => FrameFormat::I420,
            4 => FrameFormat::Yuv420,
            10 => FrameFormat::Gray8,
            11 => FrameFormat::Rgb8,
            12 => FrameFormat::Rgba8,
            13 => FrameFormat::Bgra8,
            other => {
                return Err(BridgeError::new(
                    Status::UnknownFormat,
                    format!("unknown frame format code {other}"),
                ));
            }
        })
    }

    fn planes(self) -> usize {
        match self {
            FrameFormat::Nv12 | FrameFormat::Nv21 => 2,
            FrameFormat::I420 | FrameFormat::Yuv420 => 3,
            _ => 1,
        }
    }
}

/// One plane: its bytes, row stride and pixel stride.
#[derive(Clone, Copy)]
pub struct PlaneDesc<'a> {
    /// The plane's bytes (empty where the format has no such plane).
    pub data: &'a [u8],
    /// Bytes from one row to the next.
    pub row_stride: usize,
    /// Bytes from one sample to the next (YUV 4:2:0 chroma: 1 or 2).
    pub pixel_stride: usize,
}

impl std::fmt::Debug for PlaneDesc<'_> {
    // The bytes are the private frame: sizes only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PlaneDesc({} bytes, row stride {}, pixel stride {})",
            self.data.len(),
            self.row_stride,
            self.pixel_stride
        )
    }
}

/// A frame: format, size in the sensor's orientation, planes, and how to
/// turn it upright.
#[derive(Clone, Copy, Debug)]
pub struct FrameDesc<'a> {
    /// The layout.
    pub format: FrameFormat,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Planes in the format's order (Y, UV; Y, U, V; or the one packed plane).
    pub planes: [PlaneDesc<'a>; 3],
    /// Clockwise rotation to upright, in degrees (0, 90, 180, 270).
    pub rotation_degrees: u32,
    /// Mirror left and right after rotating.
    pub mirror: bool,
    /// YUV: full range (`420f`) rather than video range (`420v`).
    pub full_range: bool,
    /// YUV: 0 the model's matrix, 1 BT.601, 2 BT.709.
    pub matrix: u32,
}

impl FrameDesc<'_> {
    /// Checks the frame and preprocesses it with `pre`.
    pub fn preprocess(&self, pre: &mut Preprocessor) -> Result<PlainTensor> {
        let rotation = Rotation::from_degrees(self.rotation_degrees).ok_or_else(|| {
            BridgeError::new(
                Status::InvalidArgument,
                format!(
                    "rotation {} is not 0, 90, 180 or 270",
                    self.rotation_degrees
                ),
            )
        })?;
        let orientation = Orientation {
            rotation,
            mirror: self.mirror,
        };
        for (i, p) in self.planes[..self.format.planes()].iter().enumerate() {
            if p.data.is_empty() {
                return Err(BridgeError::new(
                    Status::InvalidFrame,
                    format!("plane {i} of a {:?} frame is empty", self.format),
                ));
            }
        }
        let [a, b, c] = self.planes;
        let mut packed = |format: PixelFormat| -> Result<PlainTensor> {
            let f = FrameRef::new(a.data, self.width, self.height, a.row_stride, format)?
                .with_orientation(orientation);
            Ok(pre.run(&f)?)
        };
        let yuv = match self.format {
            FrameFormat::Gray8 => return packed(PixelFormat::Gray8),
            FrameFormat::Rgb8 => return packed(PixelFormat::Rgb8),
            FrameFormat::Rgba8 => return packed(PixelFormat::Rgba8),
            FrameFormat::Bgra8 => return packed(PixelFormat::Bgra8),
            FrameFormat::Nv12 => YuvFrame::nv12(
                self.width,
                self.height,
                a.data,
                a.row_stride,
                b.data,
                b.row_stride,
            )?,
            FrameFormat::Nv21 => YuvFrame::nv21(
                self.width,
                self.height,
                a.data,
                a.row_stride,
                b.data,
                b.row_stride,
            )?,
            FrameFormat::I420 => YuvFrame::i420(
                self.width,
                self.height,
                a.data,
                a.row_stride,
                b.data,
                b.row_stride,
                c.data,
                c.row_stride,
            )?,
            FrameFormat::Yuv420 => YuvFrame::yuv_420_888(
                self.width,
                self.height,
                Plane::new(a.data, a.row_stride, a.pixel_stride),
                Plane::new(b.data, b.row_stride, b.pixel_stride),
                Plane::new(c.data, c.row_stride, c.pixel_stride),
            )?,
        };
        let yuv = yuv
            .with_orientation(orientation)
            .with_range(if self.full_range {
                ColorRange::Full
            } else {
                ColorRange::Video
            });
        let yuv = match self.matrix {
            0 => yuv,
            1 => yuv.with_matrix(ColorMatrix::Bt601),
            2 => yuv.with_matrix(ColorMatrix::Bt709),
            other => {
                return Err(BridgeError::new(
                    Status::InvalidArgument,
                    format!("matrix code {other} is not 0, 1 (BT.601) or 2 (BT.709)"),
                ));
            }
        };
        Ok(pre.run_yuv(&yuv)?)
    }
}
