//! Camera-native frames: YUV 4:2:0 in two or three planes, each with its own
//! row stride and, for chroma, pixel stride. NV12 (AVFoundation's `420v` and
//! `420f`), NV21, I420 and Android's generic `YUV_420_888` are read in place,
//! from the buffers the camera hands over.

use zeroize::Zeroize;

use super::Orientation;
use crate::color::{ColorMatrix, ColorRange};
use crate::error::{Error, Result};

/// One plane of a planar frame: its bytes, the distance between rows and
/// between neighbouring samples of a row.
#[derive(Clone, Copy)]
pub struct Plane<'a> {
    data: &'a [u8],
    row_stride: usize,
    pixel_stride: usize,
}

impl std::fmt::Debug for Plane<'_> {
    // The bytes are the private frame: sizes only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Plane({} bytes, row stride {}, pixel stride {})",
            self.data.len(),
            self.row_stride,
            self.pixel_stride
        )
    }
}

impl<'a> Plane<'a> {
    /// A plane whose rows start `row_stride` bytes apart and whose samples
    /// are `pixel_stride` bytes apart (1, or 2 for interleaved chroma). It is
    /// checked against its size when a frame is made of it.
    pub fn new(data: &'a [u8], row_stride: usize, pixel_stride: usize) -> Plane<'a> {
        Plane {
            data,
            row_stride,
            pixel_stride,
        }
    }

    /// Errors unless `w` x `h` samples fit.
    fn check(&self, name: &str, w: u32, h: u32) -> Result<()> {
        let bad = |why: String| Err(Error::InvalidFrame(format!("{name} plane: {why}")));
        let (w, h) = (w as usize, h as usize);
        if self.pixel_stride == 0 {
            return bad("pixel stride 0".into());
        }
        let row = (w - 1)
            .checked_mul(self.pixel_stride)
            .and_then(|v| v.checked_add(1))
            .ok_or_else(|| Error::InvalidFrame(format!("{name} plane: stride overflow")))?;
        if self.row_stride < row {
            return bad(format!(
                "row stride {} is shorter than a row of {w} samples {} bytes apart ({row} bytes)",
                self.row_stride, self.pixel_stride
            ));
        }
        let needed = self
            .row_stride
            .checked_mul(h - 1)
            .and_then(|v| v.checked_add(row))
            .ok_or_else(|| Error::InvalidFrame(format!("{name} plane: stride overflow")))?;
        if self.data.len() < needed {
            return bad(format!(
                "{} bytes, {w}x{h} samples with row stride {} need {needed}",
                self.data.len(),
                self.row_stride
            ));
        }
        Ok(())
    }

    #[inline(always)]
    fn at(&self, x: usize, y: usize) -> u8 {
        self.data[y * self.row_stride + x * self.pixel_stride]
    }
}

/// A borrowed, validated YUV 4:2:0 frame: a full-size luma plane and two
/// chroma planes of half the width and height (rounded up).
#[derive(Clone, Copy, Debug)]
pub struct YuvFrame<'a> {
    pub(super) width: u32,
    pub(super) height: u32,
    pub(super) y: Plane<'a>,
    pub(super) u: Plane<'a>,
    pub(super) v: Plane<'a>,
    pub(super) range: ColorRange,
    pub(super) matrix: Option<ColorMatrix>,
    pub(super) orientation: Orientation,
}

impl<'a> YuvFrame<'a> {
    /// Any YUV 4:2:0 layout (Android's `YUV_420_888`): three planes, each
    /// with its row and pixel strides. Video range and the model's matrix
    /// unless set with [`YuvFrame::with_range`] and [`YuvFrame::with_matrix`].
    pub fn yuv_420_888(
        width: u32,
        height: u32,
        y: Plane<'a>,
        u: Plane<'a>,
        v: Plane<'a>,
    ) -> Result<Self> {
        super::check_size(width, height)?;
        let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
        y.check("Y", width, height)?;
        u.check("U", cw, ch)?;
        v.check("V", cw, ch)?;
        Ok(YuvFrame {
            width,
            height,
            y,
            u,
            v,
            range: ColorRange::default(),
            matrix: None,
            orientation: Orientation::default(),
        })
    }

    /// NV12: a luma plane and one plane of interleaved U, V pairs
    /// (AVFoundation's `420v`/`420f`).
    pub fn nv12(
        width: u32,
        height: u32,
        y: &'a [u8],
        y_stride: usize,
        uv: &'a [u8],
        uv_stride: usize,
    ) -> Result<Self> {
        check_pairs(width, uv_stride)?;
        let (u, v) = interleaved(uv, uv_stride);
        Self::yuv_420_888(width, height, Plane::new(y, y_stride, 1), u, v)
    }

    /// NV21: a luma plane and one plane of interleaved V, U pairs (Android's
    /// older camera API).
    pub fn nv21(
        width: u32,
        height: u32,
        y: &'a [u8],
        y_stride: usize,
        vu: &'a [u8],
        vu_stride: usize,
    ) -> Result<Self> {
        check_pairs(width, vu_stride)?;
        let (v, u) = interleaved(vu, vu_stride);
        Self::yuv_420_888(width, height, Plane::new(y, y_stride, 1), u, v)
    }

    /// I420: three planes, U before V, each packed in its rows.
    #[allow(clippy::too_many_arguments)]
    pub fn i420(
        width: u32,
        height: u32,
        y: &'a [u8],
        y_stride: usize,
        u: &'a [u8],
        u_stride: usize,
        v: &'a [u8],
        v_stride: usize,
    ) -> Result<Self> {
        Self::yuv_420_888(
            width,
            height,
            Plane::new(y, y_stride, 1),
            Plane::new(u, u_stride, 1),
            Plane::new(v, v_stride, 1),
        )
    }

    /// The same frame in `range`.
    pub fn with_range(mut self, range: ColorRange) -> Self {
        self.range = range;
        self
    }

    /// The same frame encoded with `matrix` (default: the sidecar's).
    pub fn with_matrix(mut self, matrix: ColorMatrix) -> Self {
        self.matrix = Some(matrix);
        self
    }

    /// The same frame, to be turned upright as `orientation` says.
    pub fn with_orientation(mut self, orientation: Orientation) -> Self {
        self.orientation = orientation;
        self
    }

    /// Width in pixels, as the sensor delivers it.
    pub fn width(&self) -> u32 {
        self.width
    }
    /// Height in pixels, as the sensor delivers it.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The luma plane, when its rows are packed (no padding, pixel stride 1).
    pub(super) fn packed_luma(&self) -> Option<&'a [u8]> {
        let len = self.width as usize * self.height as usize;
        (self.y.pixel_stride == 1 && self.y.row_stride == self.width as usize)
            .then(|| &self.y.data[..len])
    }

    /// The luma of `rect` (x, y, w, h), packed, into `out`.
    pub(super) fn luma_region(&self, rect: (u32, u32, u32, u32), out: &mut Vec<u8>) {
        let (x0, y0, w, h) = (
            rect.0 as usize,
            rect.1 as usize,
            rect.2 as usize,
            rect.3 as usize,
        );
        out.clear();
        out.reserve(w * h);
        for y in y0..y0 + h {
            if self.y.pixel_stride == 1 {
                let start = y * self.y.row_stride + x0;
                out.extend_from_slice(&self.y.data[start..start + w]);
            } else {
                out.extend((x0..x0 + w).map(|x| self.y.at(x, y)));
            }
        }
    }

    /// The RGB of `rect` (x, y, w, h) as three 8-bit planes, R, G then B,
    /// into `out`: chroma nearest-neighbour (each 2x2 block shares its
    /// sample), fixed-point arithmetic rounded and clamped as OpenCV's
    /// `cvtColor` does. Planes, not interleaved pixels, so that each row is
    /// one loop of the same arithmetic over contiguous bytes, which the
    /// compiler vectorises.
    pub(super) fn rgb_planes(
        &self,
        rect: (u32, u32, u32, u32),
        matrix: ColorMatrix,
        out: &mut Vec<u8>,
    ) {
        let k = Coefficients::of(matrix, self.range);
        let (x0, y0, w, h) = (
            rect.0 as usize,
            rect.1 as usize,
            rect.2 as usize,
            rect.3 as usize,
        );
        let plane = w * h;
        out.clear();
        out.resize(plane * 3, 0);
        let (r_plane, rest) = out.split_at_mut(plane);
        let (g_plane, b_plane) = rest.split_at_mut(plane);
        // One luma row, and each chroma term spread over the pixels that
        // share it (one chroma row serves two luma rows).
        let mut luma = vec![0u8; w];
        let mut terms = [vec![0i32; w], vec![0i32; w], vec![0i32; w]];
        let mut chroma_row = usize::MAX;
        for (row, y) in (y0..y0 + h).enumerate() {
            if y / 2 != chroma_row {
                chroma_row = y / 2;
                let (ur, vr) = (
                    chroma_row * self.u.row_stride,
                    chroma_row * self.v.row_stride,
                );
                for (i, x) in (x0..x0 + w).enumerate() {
                    let u = self.u.data[ur + (x / 2) * self.u.pixel_stride] as i32 - 128;
                    let v = self.v.data[vr + (x / 2) * self.v.pixel_stride] as i32 - 128;
                    terms[0][i] = k.rv * v + ROUND;
                    terms[1][i] = k.gu * u + k.gv * v + ROUND;
                    terms[2][i] = k.bu * u + ROUND;
                }
            }
            let ys = y * self.y.row_stride;
            let ps = self.y.pixel_stride;
            let luma_row: &[u8] = if ps == 1 {
                &self.y.data[ys + x0..ys + x0 + w]
            } else {
                for (l, x) in luma.iter_mut().zip(x0..) {
                    *l = self.y.data[ys + x * ps];
                }
                &luma
            };
            let span = row * w..(row + 1) * w;
            for (out, t) in [
                &mut r_plane[span.clone()],
                &mut g_plane[span.clone()],
                &mut b_plane[span],
            ]
            .into_iter()
            .zip(&terms)
            {
                convert_row(luma_row, t, k.y_offset, k.y, out);
            }
        }
        luma.zeroize();
        terms.iter_mut().for_each(|t| t.zeroize());
    }
}

/// One channel of one row: `clamp((max(Y - offset, 0) * ky + term) >> SHIFT)`.
// Compiled twice, plain x86-64 and with AVX2 (picked at run time): SSE2 has
// no 32-bit lane multiply, AVX2 does eight at once.
#[multiversion::multiversion(targets("x86_64+avx2"))]
fn convert_row(luma: &[u8], terms: &[i32], offset: i32, ky: i32, out: &mut [u8]) {
    for ((o, &y), &t) in out.iter_mut().zip(luma).zip(terms) {
        *o = clamp8(((y as i32 - offset).max(0) * ky + t) >> SHIFT);
    }
}

/// An interleaved chroma row holds a pair of bytes per chroma sample.
fn check_pairs(width: u32, stride: usize) -> Result<()> {
    let row = width.div_ceil(2) as usize * 2;
    if stride < row {
        return Err(Error::InvalidFrame(format!(
            "chroma plane: row stride {stride} is shorter than {row} interleaved bytes"
        )));
    }
    Ok(())
}

/// The U and V planes of one interleaved chroma plane.
fn interleaved(data: &[u8], stride: usize) -> (Plane<'_>, Plane<'_>) {
    (
        Plane::new(data, stride, 2),
        Plane::new(data.get(1..).unwrap_or(&[]), stride, 2),
    )
}

const SHIFT: u32 = 20;
const ROUND: i32 = 1 << (SHIFT - 1);

#[inline(always)]
fn clamp8(v: i32) -> u8 {
    v.clamp(0, 255) as u8
}

/// YUV to RGB in 20-bit fixed point.
struct Coefficients {
    y_offset: i32,
    y: i32,
    rv: i32,
    gu: i32,
    gv: i32,
    bu: i32,
}

impl Coefficients {
    fn of(matrix: ColorMatrix, range: ColorRange) -> Coefficients {
        let fix = |c: f64| (c * (1u32 << SHIFT) as f64).round() as i32;
        if (matrix, range) == (ColorMatrix::Bt601, ColorRange::Video) {
            // OpenCV's constants for this case (ITU-R BT.601 rounded to three
            // decimals), so that its `cvtColor` is matched to the bit.
            return Coefficients {
                y_offset: 16,
                y: 1_220_542,
                rv: 1_673_527,
                gu: -409_993,
                gv: -852_492,
                bu: 2_116_026,
            };
        }
        let (kr, kb) = match matrix {
            ColorMatrix::Bt601 => (0.299, 0.114),
            ColorMatrix::Bt709 => (0.2126, 0.0722),
        };
        let kg = 1.0 - kr - kb;
        let (y_offset, ys, cs) = match range {
            ColorRange::Video => (16, 255.0 / 219.0, 255.0 / 224.0),
            ColorRange::Full => (0, 1.0, 1.0),
        };
        Coefficients {
            y_offset,
            y: fix(ys),
            rv: fix(2.0 * (1.0 - kr) * cs),
            gu: fix(-2.0 * kb * (1.0 - kb) / kg * cs),
            gv: fix(-2.0 * kr * (1.0 - kr) / kg * cs),
            bu: fix(2.0 * (1.0 - kb) * cs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planes_are_checked_against_their_sizes() {
        let y = vec![0u8; 5 * 3];
        let uv = vec![128u8; 6 * 2];
        // 5x3: chroma is 3x2, so the UV rows hold 6 bytes.
        assert!(YuvFrame::nv12(5, 3, &y, 5, &uv, 6).is_ok());
        assert!(YuvFrame::nv12(5, 3, &y, 5, &uv[..11], 6).is_err());
        assert!(YuvFrame::nv12(5, 3, &y, 5, &uv, 5).is_err());
        assert!(YuvFrame::nv12(5, 3, &y[..14], 5, &uv, 6).is_err());
        assert!(YuvFrame::nv12(5, 3, &y, 4, &uv, 6).is_err());
        assert!(YuvFrame::nv12(0, 3, &y, 5, &uv, 6).is_err());
        assert!(YuvFrame::nv12(5, 3, &y, usize::MAX, &uv, 6).is_err());
        assert!(YuvFrame::nv12(5, 3, &y, 5, &[], 6).is_err());
        // I420 with odd sizes: 3x2 chroma planes.
        let c = vec![128u8; 6];
        assert!(YuvFrame::i420(5, 3, &y, 5, &c, 3, &c, 3).is_ok());
        assert!(YuvFrame::i420(5, 3, &y, 5, &c[..5], 3, &c, 3).is_err());
        // A zero pixel stride is refused, not divided by.
        let p = Plane::new(&c, 3, 0);
        assert!(YuvFrame::yuv_420_888(5, 3, Plane::new(&y, 5, 1), p, p).is_err());
    }

    #[test]
    fn grey_converts_to_grey_in_every_matrix_and_range() {
        let y = vec![126u8; 16];
        let uv = vec![128u8; 8];
        let f = YuvFrame::nv12(4, 4, &y, 4, &uv, 4).unwrap();
        for (range, want) in [(ColorRange::Video, 128u8), (ColorRange::Full, 126)] {
            for matrix in [ColorMatrix::Bt601, ColorMatrix::Bt709] {
                let mut out = Vec::new();
                f.with_range(range)
                    .rgb_planes((0, 0, 4, 4), matrix, &mut out);
                assert!(
                    out.iter().all(|&v| v.abs_diff(want) <= 1),
                    "{range:?} {matrix:?}: {:?}",
                    &out[..3]
                );
            }
        }
    }
}
