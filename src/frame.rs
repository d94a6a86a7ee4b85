//! Camera frames in, model-shaped normalised tensors out.
//!
//! Preprocessing, in order:
//! 1. centre-crop the frame to the model's aspect ratio (whole pixels);
//! 2. resize to the model's size with a bilinear (triangle) convolution filter
//!    whose support widens when downscaling, so it averages rather than
//!    aliases (`fast_image_resize`, `Convolution(Bilinear)`); skipped when the
//!    crop already has the model's size;
//! 3. convert channels: RGB to grey by BT.601 luma for 1-channel models, grey
//!    replicated for 3-channel models; alpha is ignored;
//! 4. scale to [0, 1] and normalise with the spec's per-channel mean and std.

use fast_image_resize as fr;

use zeroize::Zeroize;

use crate::color::luma;
use crate::error::{Error, Result};
use crate::spec::{Affine, Geometry, ModelSpec};

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
    fn fr_type(self) -> fr::PixelType {
        match self {
            PixelFormat::Gray8 => fr::PixelType::U8,
            PixelFormat::Rgb8 => fr::PixelType::U8x3,
            PixelFormat::Rgba8 | PixelFormat::Bgra8 => fr::PixelType::U8x4,
        }
    }
    /// Byte offsets of R, G, B within a pixel.
    fn rgb_offsets(self) -> [usize; 3] {
        match self {
            PixelFormat::Gray8 => [0, 0, 0],
            PixelFormat::Rgb8 | PixelFormat::Rgba8 => [0, 1, 2],
            PixelFormat::Bgra8 => [2, 1, 0],
        }
    }
}

/// A borrowed, validated camera frame.
#[derive(Clone, Copy)]
pub struct FrameRef<'a> {
    data: &'a [u8],
    width: u32,
    height: u32,
    stride: usize,
    format: PixelFormat,
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

    fn row(&self, y: usize) -> &'a [u8] {
        let start = y * self.stride;
        &self.data[start..start + self.width as usize * self.format.bytes_per_pixel()]
    }
}

/// A normalised tensor in the model's geometry (C x H x W, channels first):
/// the private input of one encryption. Not `Clone` (each copy of a private
/// frame is one more to wipe); its values are zeroed on drop.
#[derive(PartialEq)]
pub struct PlainTensor {
    geometry: Geometry,
    data: Vec<f32>,
}

impl std::fmt::Debug for PlainTensor {
    // Never print pixel values: they are the private frame.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PlainTensor({:?})", self.geometry.shape())
    }
}

impl PlainTensor {
    /// Wraps already-preprocessed values; they must be finite.
    pub fn new(geometry: Geometry, data: Vec<f32>) -> Result<PlainTensor> {
        if data.len() != geometry.len() {
            return Err(Error::InvalidFrame(format!(
                "tensor has {} values, the model's {:?} needs {}",
                data.len(),
                geometry.shape(),
                geometry.len()
            )));
        }
        if data.iter().any(|v| !v.is_finite()) {
            return Err(Error::NonFinite("frame tensor"));
        }
        Ok(PlainTensor { geometry, data })
    }
    /// The model geometry.
    pub fn geometry(&self) -> Geometry {
        self.geometry
    }
    /// The values, channels first.
    pub fn data(&self) -> &[f32] {
        &self.data
    }
}

impl Drop for PlainTensor {
    fn drop(&mut self) {
        self.data.zeroize();
    }
}

/// Turns frames of any size and format into model tensors; keeps its resizer
/// and scratch buffers between frames.
///
/// Its own copies of a frame are zeroed as soon as they are used. The
/// resizer keeps its intermediate rows of the last frame (the next frame of
/// the same size overwrites them); dropping the preprocessor overwrites
/// them with a resize of a black frame of the same size.
pub struct Preprocessor {
    geometry: Geometry,
    affine: Affine,
    resizer: fr::Resizer,
    packed: Vec<u8>,
    /// The last resize, to overwrite the resizer's buffers on drop.
    last: Option<LastResize>,
}

/// What the last resize read: enough to repeat it on a black frame.
#[derive(Clone, Copy)]
struct LastResize {
    width: u32,
    height: u32,
    format: PixelFormat,
    crop: (u64, u64, u64, u64),
}

impl Preprocessor {
    /// A preprocessor for `spec`'s geometry and normalisation.
    pub fn new(spec: &ModelSpec) -> Preprocessor {
        Preprocessor {
            geometry: spec.geometry(),
            affine: spec.frame_affine(),
            resizer: fr::Resizer::new(),
            packed: Vec::new(),
            last: None,
        }
    }

    /// Resizes `buf` (packed rows of a `width` x `height` frame) cropped to
    /// `crop` (left, top, width, height) to the model's size.
    fn resize(
        &mut self,
        buf: &[u8],
        width: u32,
        height: u32,
        format: PixelFormat,
        crop: (u64, u64, u64, u64),
    ) -> Result<Vec<u8>> {
        let (mw, mh) = (self.geometry.width as u32, self.geometry.height as u32);
        let src = fr::images::ImageRef::new(width, height, buf, format.fr_type())
            .map_err(|e| Error::InvalidFrame(e.to_string()))?;
        let mut dst = fr::images::Image::new(mw, mh, format.fr_type());
        let (left, top, cw, ch) = crop;
        let opts = fr::ResizeOptions::new()
            .resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::Bilinear))
            .crop(left as f64, top as f64, cw as f64, ch as f64)
            .use_alpha(false);
        self.last = Some(LastResize {
            width,
            height,
            format,
            crop,
        });
        self.resizer
            .resize(&src, &mut dst, &opts)
            .map_err(|e| Error::InvalidFrame(format!("resize failed: {e}")))?;
        Ok(dst.into_vec())
    }

    /// Preprocesses one frame (see the module docs for the steps).
    pub fn run(&mut self, frame: &FrameRef<'_>) -> Result<PlainTensor> {
        let g = self.geometry;
        let (mw, mh) = (g.width as u32, g.height as u32);
        let bpp = frame.format.bytes_per_pixel();
        // 1. Centre crop to the model's aspect ratio, in whole pixels.
        let (fw, fh) = (frame.width as u64, frame.height as u64);
        let (cw, ch) = if fw * mh as u64 > fh * mw as u64 {
            (((fh * mw as u64) / mh as u64).max(1), fh)
        } else {
            (fw, ((fw * mh as u64) / mw as u64).max(1))
        };
        let (cx, cy) = ((fw - cw) / 2, (fh - ch) / 2);
        // 2. Resize (or copy when the crop is already the model's size).
        let out_len = g.plane() * bpp;
        let mut resized: Vec<u8> = if cw == mw as u64 && ch == mh as u64 {
            let mut v = Vec::with_capacity(out_len);
            for y in 0..mh as usize {
                let row = frame.row(cy as usize + y);
                v.extend_from_slice(&row[cx as usize * bpp..(cx as usize + mw as usize) * bpp]);
            }
            v
        } else {
            // The resizer reads packed rows: a padded stride costs one copy of
            // the frame, a packed frame none. The crop is a resize option, so
            // the filter sees the same neighbouring pixels either way.
            let row_bytes = frame.width as usize * bpp;
            let crop = (cx, cy, cw, ch);
            if frame.stride == row_bytes {
                let src = &frame.data[..row_bytes * frame.height as usize];
                self.resize(src, frame.width, frame.height, frame.format, crop)?
            } else {
                let mut packed = std::mem::take(&mut self.packed);
                packed.clear();
                for y in 0..frame.height as usize {
                    packed.extend_from_slice(frame.row(y));
                }
                let out = self.resize(&packed, frame.width, frame.height, frame.format, crop);
                packed.zeroize();
                self.packed = packed;
                out?
            }
        };
        // 3 + 4. Channels, scale, normalise.
        let plane = g.plane();
        let mut data = vec![0f32; g.len()];
        let a = self.affine;
        let off = frame.format.rgb_offsets();
        match (g.channels, frame.format) {
            (1, PixelFormat::Gray8) => {
                for (d, &v) in data.iter_mut().zip(&resized) {
                    *d = v as f32 * a.scale[0] + a.offset[0];
                }
            }
            (1, _) => {
                for (d, px) in data.iter_mut().zip(resized.chunks_exact(bpp)) {
                    let y = luma(px[off[0]] as f32, px[off[1]] as f32, px[off[2]] as f32);
                    *d = y * a.scale[0] + a.offset[0];
                }
            }
            (_, _) => {
                for (i, px) in resized.chunks_exact(bpp).enumerate() {
                    for c in 0..3 {
                        data[c * plane + i] = px[off[c]] as f32 * a.scale[c] + a.offset[c];
                    }
                }
            }
        }
        resized.zeroize();
        PlainTensor::new(g, data)
    }
}

impl Drop for Preprocessor {
    fn drop(&mut self) {
        self.packed.zeroize();
        if let Some(last) = self.last.take() {
            let bytes = last.width as usize * last.height as usize * last.format.bytes_per_pixel();
            let black = vec![0u8; bytes];
            let _ = self.resize(&black, last.width, last.height, last.format, last.crop);
        }
    }
}

/// Reads an image file (PNG, JPEG) into an 8-bit RGB frame buffer.
pub fn load_image_file(path: &std::path::Path) -> Result<(Vec<u8>, u32, u32)> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let img = crate::imageio::decode(path, &bytes, crate::imageio::DecodeLimits::FRAME)?.to_rgb8();
    let (w, h) = img.dimensions();
    Ok((img.into_raw(), w, h))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn preprocess(frame: &FrameRef<'_>, spec: &ModelSpec) -> Result<PlainTensor> {
        Preprocessor::new(spec).run(frame)
    }

    #[test]
    fn frame_validation() {
        let buf = vec![0u8; 100];
        assert!(FrameRef::new(&buf, 0, 10, 10, PixelFormat::Gray8).is_err());
        assert!(FrameRef::new(&buf, 10, 10, 9, PixelFormat::Gray8).is_err());
        assert!(FrameRef::new(&buf, 10, 11, 10, PixelFormat::Gray8).is_err());
        assert!(FrameRef::new(&buf, 10, 10, usize::MAX, PixelFormat::Gray8).is_err());
        assert!(FrameRef::packed(&buf, 5, 4, PixelFormat::Rgba8).is_err());
        assert!(FrameRef::packed(&buf, 5, 5, PixelFormat::Rgb8).is_err());
        assert!(FrameRef::packed(&buf, 5, 5, PixelFormat::Rgba8).is_ok());
        assert!(FrameRef::packed(&buf[..99], 10, 10, PixelFormat::Gray8).is_err());
        assert!(FrameRef::packed(&buf, 10, 10, PixelFormat::Gray8).is_ok());
        // A stride with padding: the last row need not carry the padding.
        assert!(FrameRef::new(&buf, 8, 10, 10, PixelFormat::Gray8).is_ok());
    }

    #[test]
    fn model_sized_grey_frame_is_only_normalised() {
        let spec = ModelSpec::fashion_mnist();
        let px: Vec<u8> = (0..784).map(|i| (i % 256) as u8).collect();
        let t = preprocess(
            &FrameRef::packed(&px, 28, 28, PixelFormat::Gray8).unwrap(),
            &spec,
        )
        .unwrap();
        let a = spec.frame_affine();
        for (v, p) in t.data().iter().zip(&px) {
            assert_eq!(*v, *p as f32 * a.scale[0] + a.offset[0]);
        }
    }

    #[test]
    fn bgra_equals_rgba_after_swizzle_and_resizes() {
        let spec = ModelSpec::imagenet_224();
        let (w, h) = (640u32, 360u32);
        let rgba: Vec<u8> = (0..w * h * 4).map(|i| (i * 7 % 251) as u8).collect();
        let mut bgra = rgba.clone();
        for p in bgra.chunks_exact_mut(4) {
            p.swap(0, 2);
        }
        let a = preprocess(
            &FrameRef::packed(&rgba, w, h, PixelFormat::Rgba8).unwrap(),
            &spec,
        )
        .unwrap();
        let b = preprocess(
            &FrameRef::packed(&bgra, w, h, PixelFormat::Bgra8).unwrap(),
            &spec,
        )
        .unwrap();
        assert_eq!(a, b);
        assert_eq!(a.geometry().shape(), [3, 224, 224]);
    }

    #[test]
    fn uniform_rgb_frame_becomes_its_luma() {
        let spec = ModelSpec::fashion_mnist();
        let rgb = [200u8, 100, 50].repeat(100 * 60);
        let t = preprocess(
            &FrameRef::packed(&rgb, 100, 60, PixelFormat::Rgb8).unwrap(),
            &spec,
        )
        .unwrap();
        let a = spec.frame_affine();
        let want = luma(200.0, 100.0, 50.0) * a.scale[0] + a.offset[0];
        for v in t.data() {
            assert!((v - want).abs() < 2.0 * a.scale[0], "{v} vs {want}");
        }
    }

    #[test]
    fn padded_stride_gives_the_same_tensor_as_packed_rows() {
        let spec = ModelSpec::imagenet_224();
        let (w, h) = (500u32, 300u32);
        let rgba: Vec<u8> = (0..w * h * 4).map(|i| (i * 11 % 253) as u8).collect();
        let stride = w as usize * 4 + 12;
        let mut padded = vec![0u8; stride * h as usize];
        for y in 0..h as usize {
            padded[y * stride..y * stride + w as usize * 4]
                .copy_from_slice(&rgba[y * w as usize * 4..(y + 1) * w as usize * 4]);
        }
        let a = preprocess(
            &FrameRef::packed(&rgba, w, h, PixelFormat::Rgba8).unwrap(),
            &spec,
        )
        .unwrap();
        let b = preprocess(
            &FrameRef::new(&padded, w, h, stride, PixelFormat::Rgba8).unwrap(),
            &spec,
        )
        .unwrap();
        let max = a
            .data()
            .iter()
            .zip(b.data())
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max);
        // The same source pixels and filter; only the resizer's crop arithmetic differs.
        assert!(
            max <= 2.0 * spec.frame_affine().scale[0],
            "max difference {max}"
        );
    }
}
