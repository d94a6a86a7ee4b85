//! The preprocessor: crop, resize, turn upright, convert channels,
//! normalise (the steps of the module docs), for packed and YUV frames.

use fast_image_resize as fr;
use zeroize::Zeroize;

use super::{ColorMatrix, ColorRange, FrameRef, Orientation, PixelFormat, PlainTensor, YuvFrame};
use crate::color::luma;
use crate::error::{Error, Result};
use crate::spec::{Affine, Geometry, ModelSpec};

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
    matrix: ColorMatrix,
    resizer: fr::Resizer,
    scratch: Vec<u8>,
    /// The last resize, to overwrite the resizer's buffers on drop.
    last: Option<Resize>,
}

/// One resize: a `width` x `height` source of `pixel`s, its `crop` (x, y,
/// w, h), to `out` (w, h).
#[derive(Clone, Copy)]
struct Resize {
    width: u32,
    height: u32,
    pixel: fr::PixelType,
    crop: (u32, u32, u32, u32),
    out: (u32, u32),
}

/// What the resized pixels are.
#[derive(Clone, Copy)]
enum Pixels {
    Packed(PixelFormat),
    /// Three planes, R, G then B.
    Planes,
    /// Raw luma samples of a YUV frame in this range.
    Luma(ColorRange),
}

impl Preprocessor {
    /// A preprocessor for `spec`'s geometry, normalisation and YUV matrix.
    pub fn new(spec: &ModelSpec) -> Preprocessor {
        Preprocessor {
            geometry: spec.geometry(),
            affine: spec.frame_affine(),
            matrix: spec.yuv_matrix(),
            resizer: fr::Resizer::new(),
            scratch: Vec::new(),
            last: None,
        }
    }

    /// Where the centre crop of the upright frame lies in the sensor's
    /// `w` x `h` image, and the resized size in the sensor's orientation.
    fn plan(&self, w: u32, h: u32, o: Orientation) -> Resize {
        let (mw, mh) = (self.geometry.width as u64, self.geometry.height as u64);
        let (uw, uh) = o.upright_size(w, h);
        let (fw, fh) = (uw as u64, uh as u64);
        let (cw, ch) = if fw * mh > fh * mw {
            (((fh * mw) / mh).max(1), fh)
        } else {
            (fw, ((fw * mh) / mw).max(1))
        };
        let (cx, cy) = ((fw - cw) / 2, (fh - ch) / 2);
        let upright = (cx as u32, cy as u32, cw as u32, ch as u32);
        // The sensor-oriented size whose upright image is the model's.
        let out = o.upright_size(mw as u32, mh as u32);
        Resize {
            width: w,
            height: h,
            pixel: fr::PixelType::U8,
            crop: o.rect_to_sensor(upright, w, h),
            out,
        }
    }

    /// Resizes `buf` (packed rows as `r` says) to `r.out`, or copies the
    /// crop when it already has that size.
    fn resize(&mut self, buf: &[u8], r: Resize) -> Result<Vec<u8>> {
        let (x, y, cw, ch) = r.crop;
        let bpp = pixel_bytes(r.pixel);
        if (cw, ch) == r.out {
            let row = r.width as usize * bpp;
            let mut v = Vec::with_capacity(cw as usize * ch as usize * bpp);
            for yy in y as usize..(y + ch) as usize {
                let start = yy * row + x as usize * bpp;
                v.extend_from_slice(&buf[start..start + cw as usize * bpp]);
            }
            return Ok(v);
        }
        let src = fr::images::ImageRef::new(r.width, r.height, buf, r.pixel)
            .map_err(|e| Error::InvalidFrame(e.to_string()))?;
        let mut dst = fr::images::Image::new(r.out.0, r.out.1, r.pixel);
        let opts = fr::ResizeOptions::new()
            .resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::Bilinear))
            .crop(x as f64, y as f64, cw as f64, ch as f64)
            .use_alpha(false);
        self.last = Some(r);
        self.resizer
            .resize(&src, &mut dst, &opts)
            .map_err(|e| Error::InvalidFrame(format!("resize failed: {e}")))?;
        Ok(dst.into_vec())
    }

    /// Preprocesses one packed frame (see the module docs for the steps).
    pub fn run(&mut self, frame: &FrameRef<'_>) -> Result<PlainTensor> {
        let bpp = frame.format.bytes_per_pixel();
        let r = Resize {
            pixel: frame.format.fr_type(),
            ..self.plan(frame.width, frame.height, frame.orientation)
        };
        // The resizer reads packed rows: a padded stride costs one copy of
        // the frame, a packed frame none. The crop is a resize option, so
        // the filter sees the same neighbouring pixels either way.
        let row_bytes = frame.width as usize * bpp;
        let mut resized = if frame.stride == row_bytes {
            self.resize(&frame.data[..row_bytes * frame.height as usize], r)?
        } else {
            let mut packed = std::mem::take(&mut self.scratch);
            packed.clear();
            for y in 0..frame.height as usize {
                packed.extend_from_slice(frame.row(y));
            }
            let out = self.resize(&packed, r);
            wipe(&mut packed);
            self.scratch = packed;
            out?
        };
        let t = self.tensor(
            &resized,
            Pixels::Packed(frame.format),
            r.out,
            frame.orientation,
        );
        resized.zeroize();
        t
    }

    /// Preprocesses one YUV frame: a 1-channel model reads the luma plane
    /// alone; a 3-channel model gets RGB converted (with the frame's matrix,
    /// else the sidecar's) on the region the resize reads.
    pub fn run_yuv(&mut self, frame: &YuvFrame<'_>) -> Result<PlainTensor> {
        let plan = self.plan(frame.width, frame.height, frame.orientation);
        if self.geometry.channels == 1
            && let Some(luma) = frame.packed_luma()
        {
            // Packed luma rows are an image already: resized in place.
            let mut resized = self.resize(luma, plan)?;
            let t = self.tensor(
                &resized,
                Pixels::Luma(frame.range),
                plan.out,
                frame.orientation,
            );
            resized.zeroize();
            return t;
        }
        let region = support_region(plan.crop, plan.out, frame.width, frame.height);
        let crop = (
            plan.crop.0 - region.0,
            plan.crop.1 - region.1,
            plan.crop.2,
            plan.crop.3,
        );
        let mut buf = std::mem::take(&mut self.scratch);
        let r = Resize {
            width: region.2,
            height: region.3,
            pixel: fr::PixelType::U8,
            crop,
            out: plan.out,
        };
        let out = if self.geometry.channels == 1 {
            frame.luma_region(region, &mut buf);
            self.resize(&buf, r)
        } else {
            let matrix = frame.matrix.unwrap_or(self.matrix);
            frame.rgb_planes(region, matrix, &mut buf);
            let n = region.2 as usize * region.3 as usize;
            buf.chunks_exact(n)
                .map(|p| self.resize(p, r))
                .collect::<Result<Vec<_>>>()
                .map(|planes| planes.concat())
        };
        wipe(&mut buf);
        self.scratch = buf;
        let mut resized = out?;
        let pixels = match self.geometry.channels {
            1 => Pixels::Luma(frame.range),
            _ => Pixels::Planes,
        };
        let t = self.tensor(&resized, pixels, r.out, frame.orientation);
        resized.zeroize();
        t
    }

    /// The model tensor from `resized` (`out` in the sensor's orientation),
    /// turned upright, in the model's channels, normalised.
    fn tensor(
        &self,
        resized: &[u8],
        pixels: Pixels,
        out: (u32, u32),
        o: Orientation,
    ) -> Result<PlainTensor> {
        let g = self.geometry;
        let (mw, mh) = (g.width as u32, g.height as u32);
        let plane = g.plane();
        let a = self.affine;
        let mut data = vec![0f32; g.len()];
        let source = |i: usize| -> usize {
            if o == Orientation::default() {
                return i;
            }
            let (x, y) = ((i % mw as usize) as u32, (i / mw as usize) as u32);
            let (sx, sy) = o.to_sensor(x, y, out.0, out.1);
            sy as usize * out.0 as usize + sx as usize
        };
        debug_assert_eq!(o.upright_size(out.0, out.1), (mw, mh));
        match (g.channels, pixels) {
            (1, Pixels::Luma(range)) => {
                for (i, d) in data.iter_mut().enumerate() {
                    let v = resized[source(i)] as f32;
                    let v = match range {
                        ColorRange::Video => ((v - 16.0) * (255.0 / 219.0)).clamp(0.0, 255.0),
                        ColorRange::Full => v,
                    };
                    *d = v * a.scale[0] + a.offset[0];
                }
            }
            (1, Pixels::Packed(PixelFormat::Gray8)) => {
                for (i, d) in data.iter_mut().enumerate() {
                    *d = resized[source(i)] as f32 * a.scale[0] + a.offset[0];
                }
            }
            (1, Pixels::Packed(format)) => {
                let (bpp, off) = (format.bytes_per_pixel(), format.rgb_offsets());
                for (i, d) in data.iter_mut().enumerate() {
                    let px = &resized[source(i) * bpp..];
                    let y = luma(px[off[0]] as f32, px[off[1]] as f32, px[off[2]] as f32);
                    *d = y * a.scale[0] + a.offset[0];
                }
            }
            (_, Pixels::Packed(format)) => {
                let (bpp, off) = (format.bytes_per_pixel(), format.rgb_offsets());
                for i in 0..plane {
                    let px = &resized[source(i) * bpp..];
                    for c in 0..3 {
                        data[c * plane + i] = px[off[c]] as f32 * a.scale[c] + a.offset[c];
                    }
                }
            }
            (1, Pixels::Planes) => {
                let (r, rest) = resized.split_at(plane);
                let (g, b) = rest.split_at(plane);
                for (i, d) in data.iter_mut().enumerate() {
                    let j = source(i);
                    let y = luma(r[j] as f32, g[j] as f32, b[j] as f32);
                    *d = y * a.scale[0] + a.offset[0];
                }
            }
            (_, Pixels::Planes) => {
                for c in 0..3 {
                    let p = &resized[c * plane..(c + 1) * plane];
                    for (i, d) in data[c * plane..(c + 1) * plane].iter_mut().enumerate() {
                        *d = p[source(i)] as f32 * a.scale[c] + a.offset[c];
                    }
                }
            }
            (_, Pixels::Luma(_)) => {
                return Err(Error::InvalidFrame(
                    "a 3-channel model needs colour, not luma alone".into(),
                ));
            }
        }
        PlainTensor::new(g, data)
    }
}

/// Zeroes a frame-sized scratch buffer and empties it (its capacity stays).
/// Zeroed in 64-bit volatile writes: byte by byte, a 1080p frame's planes
/// took as long to wipe as to resize.
fn wipe(buf: &mut Vec<u8>) {
    // SAFETY: any bit pattern is a valid u64, and `align_to_mut` keeps the
    // parts within the buffer.
    let (head, words, tail) = unsafe { buf.align_to_mut::<u64>() };
    head.zeroize();
    words.zeroize();
    tail.zeroize();
    buf.clear();
}

fn pixel_bytes(p: fr::PixelType) -> usize {
    match p {
        fr::PixelType::U8x3 => 3,
        fr::PixelType::U8x4 => 4,
        _ => 1,
    }
}

/// The part of a `w` x `h` image that resizing `crop` to `out` reads: the
/// crop and, around it, the filter's support (bilinear: one output pixel's
/// width of source pixels each side when downscaling), so that converting
/// only this region gives the resizer the same neighbours as the whole frame.
fn support_region(
    crop: (u32, u32, u32, u32),
    out: (u32, u32),
    w: u32,
    h: u32,
) -> (u32, u32, u32, u32) {
    let margin = |c: u32, o: u32| c.div_ceil(o.max(1)) + 2;
    let (mx, my) = (margin(crop.2, out.0), margin(crop.3, out.1));
    let x0 = crop.0.saturating_sub(mx);
    let y0 = crop.1.saturating_sub(my);
    let x1 = (crop.0 + crop.2 + mx).min(w);
    let y1 = (crop.1 + crop.3 + my).min(h);
    (x0, y0, x1 - x0, y1 - y0)
}

impl Drop for Preprocessor {
    fn drop(&mut self) {
        wipe(&mut self.scratch);
        if let Some(last) = self.last.take() {
            let bytes = last.width as usize * last.height as usize * pixel_bytes(last.pixel);
            let black = vec![0u8; bytes];
            let _ = self.resize(&black, last);
        }
    }
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
