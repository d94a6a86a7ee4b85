//! The public corpus that the k-1 public slots of every key are cut from.
//!
//! A corpus is M source images. A key picks an image per slot and a transform
//! (a log-uniform crop, a position and a flip for photos larger than the model;
//! a small shift and a flip for images already at the model size), so the
//! number of distinct public images an attacker must consider is far larger
//! than M; [`PublicPool::effective_log2`] reports it.
//!
//! Sources: a directory of PNG/JPEG files, an IDX dataset file (optionally
//! gzipped), or a packed pool file (`.ehpool`, see [`PublicPool::to_packed`]).

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::params::Params;
use crate::spec::Geometry;

/// Largest side of one corpus image; larger photos should be downscaled with
/// `edgehide pool build --max-side`.
pub const MAX_IMAGE_SIDE: u32 = 8192;
/// Largest number of images in one corpus.
pub const MAX_IMAGES: usize = 4_000_000;
/// Largest total pixel bytes of one corpus (also bounds decompression).
pub const MAX_TOTAL_BYTES: usize = 2 << 30;

const PACK_MAGIC: &[u8; 8] = b"EHPOOL01";
const FINGERPRINT_DOMAIN: &[u8] = b"edgehide-pool-v1";

/// A corpus fingerprint as `sha256:<hex>`.
pub(crate) fn fingerprint_hex(fingerprint: &[u8; 32]) -> String {
    format!("sha256:{}", hex::encode(fingerprint))
}

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

    pub fn width(&self) -> u32 {
        self.width
    }
    pub fn height(&self) -> u32 {
        self.height
    }
    pub fn channels(&self) -> u8 {
        self.channels
    }
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    fn to_dynamic(&self) -> image::DynamicImage {
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

/// BT.601 luma of an 8-bit RGB pixel, rounded to 8 bits.
pub(crate) fn luma_u8(r: u8, g: u8, b: u8) -> u8 {
    luma(r as f32, g as f32, b as f32).round().clamp(0.0, 255.0) as u8
}

/// BT.601 luma.
pub(crate) fn luma(r: f32, g: f32, b: f32) -> f32 {
    0.299 * r + 0.587 * g + 0.114 * b
}

/// A validated, fingerprinted public corpus.
#[derive(Clone)]
pub struct PublicPool {
    images: Vec<PoolImage>,
    fingerprint: [u8; 32],
}

impl std::fmt::Debug for PublicPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicPool")
            .field("images", &self.images.len())
            .field("fingerprint", &self.fingerprint_hex())
            .finish()
    }
}

/// The bundled default corpus (see `assets/POOL-SOURCES.md`).
static BUNDLED: &[u8] = include_bytes!("../assets/default.ehpool");

impl PublicPool {
    /// Validates and fingerprints a list of images.
    pub fn from_images(images: Vec<PoolImage>) -> Result<PublicPool> {
        if images.is_empty() {
            return Err(Error::InvalidPool("the corpus has no images".into()));
        }
        if images.len() > MAX_IMAGES {
            return Err(Error::InvalidPool(format!("more than {MAX_IMAGES} images")));
        }
        let total: usize = images.iter().map(|i| i.pixels.len()).sum();
        if total > MAX_TOTAL_BYTES {
            return Err(Error::InvalidPool(format!(
                "corpus exceeds {MAX_TOTAL_BYTES} bytes"
            )));
        }
        let mut h = Sha256::new();
        h.update(FINGERPRINT_DOMAIN);
        h.update((images.len() as u64).to_le_bytes());
        for img in &images {
            h.update(img.width.to_le_bytes());
            h.update(img.height.to_le_bytes());
            h.update([img.channels]);
            h.update(&img.pixels);
        }
        let fingerprint: [u8; 32] = h.finalize().into();
        Ok(PublicPool {
            images,
            fingerprint,
        })
    }

    /// The corpus bundled with the crate: photos from Debian wallpaper packages.
    pub fn bundled() -> Result<PublicPool> {
        PublicPool::from_packed(BUNDLED)
    }

    /// Loads a directory of images, an IDX file, or a packed pool file,
    /// deciding by what is at `path`.
    pub fn load(path: &Path) -> Result<PublicPool> {
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        if meta.is_dir() {
            return PublicPool::load_dir(path);
        }
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        if bytes.starts_with(PACK_MAGIC) {
            PublicPool::from_packed(&bytes)
        } else if is_idx_name(path)
            || bytes.starts_with(&[0x1f, 0x8b])
            || bytes.starts_with(&[0, 0])
        {
            PublicPool::from_images(read_idx(&bytes).map_err(|e| in_file(e, path))?)
        } else {
            let img = decode_image(path, &bytes)?;
            PublicPool::from_images(vec![img])
        }
    }

    /// Every PNG and JPEG file directly in `dir`, in file-name order (so the
    /// fingerprint does not depend on the file system's listing order).
    pub fn load_dir(dir: &Path) -> Result<PublicPool> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| Error::io(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file()
                    && p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                        matches!(e.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg")
                    })
            })
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(Error::InvalidPool(format!(
                "no PNG or JPEG files in {}",
                dir.display()
            )));
        }
        let images = files
            .iter()
            .map(|p| {
                let bytes = std::fs::read(p).map_err(|e| Error::io(p, e))?;
                decode_image(p, &bytes)
            })
            .collect::<Result<Vec<_>>>()?;
        PublicPool::from_images(images)
    }

    /// Parses a packed pool file: magic, image count, then each image as a
    /// length-prefixed PNG (lossless, so the fingerprint survives decoders).
    pub fn from_packed(bytes: &[u8]) -> Result<PublicPool> {
        let corrupt = |why: &str| Error::InvalidPool(format!("corrupt pool file: {why}"));
        let rest = bytes
            .strip_prefix(PACK_MAGIC.as_slice())
            .ok_or_else(|| corrupt("bad magic"))?;
        let (count, mut rest) = take_u32(rest).ok_or_else(|| corrupt("truncated header"))?;
        let count = count as usize;
        if count == 0 || count > MAX_IMAGES {
            return Err(corrupt("image count out of range"));
        }
        let mut images = Vec::with_capacity(count.min(rest.len() / 8));
        let mut total = 0usize;
        for i in 0..count {
            let (len, r) = take_u32(rest).ok_or_else(|| corrupt("truncated entry"))?;
            let len = len as usize;
            if len > r.len() {
                return Err(corrupt("truncated image"));
            }
            let (png, r) = r.split_at(len);
            rest = r;
            let img = decode_png_bounded(png, MAX_TOTAL_BYTES - total)
                .map_err(|why| corrupt(&format!("image {i}: {why}")))?;
            total += img.pixels.len();
            images.push(img);
        }
        if !rest.is_empty() {
            return Err(corrupt("trailing bytes"));
        }
        PublicPool::from_images(images)
    }

    /// The packed form read by [`PublicPool::from_packed`].
    pub fn to_packed(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        out.extend_from_slice(PACK_MAGIC);
        out.extend_from_slice(&(self.images.len() as u32).to_le_bytes());
        for img in &self.images {
            let mut png = Vec::new();
            img.to_dynamic()
                .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
                .map_err(|e| Error::InvalidPool(format!("cannot encode PNG: {e}")))?;
            out.extend_from_slice(&(png.len() as u32).to_le_bytes());
            out.extend_from_slice(&png);
        }
        Ok(out)
    }

    /// Writes the packed form to `path`.
    pub fn write_packed(&self, path: &Path) -> Result<()> {
        std::fs::write(path, self.to_packed()?).map_err(|e| Error::io(path, e))
    }

    /// M, the number of source images.
    pub fn len(&self) -> usize {
        self.images.len()
    }
    /// Never true: an empty corpus is rejected on construction.
    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
    }
    pub fn images(&self) -> &[PoolImage] {
        &self.images
    }
    /// SHA-256 over the decoded pixels (not the container).
    pub fn fingerprint(&self) -> [u8; 32] {
        self.fingerprint
    }
    /// The fingerprint as `sha256:<hex>`, the form sidecars store.
    pub fn fingerprint_hex(&self) -> String {
        fingerprint_hex(&self.fingerprint)
    }

    /// Errors unless every image is at least the model's size.
    pub fn check_for(&self, geometry: Geometry) -> Result<()> {
        for (i, img) in self.images.iter().enumerate() {
            if (img.width as usize) < geometry.width || (img.height as usize) < geometry.height {
                return Err(Error::InvalidPool(format!(
                    "image {i} is {}x{}, smaller than the model's {}x{}",
                    img.width, img.height, geometry.width, geometry.height
                )));
            }
        }
        Ok(())
    }

    /// log2 of the number of distinguishable public images one slot can
    /// produce: over all source images, every (crop size, integer position,
    /// flip) for photos and every (shift, flip) for model-sized images.
    pub fn effective_log2(&self, geometry: Geometry, params: &Params) -> f64 {
        let total: f64 = self
            .images
            .iter()
            .map(|img| slot_choices(img.width, img.height, geometry, params))
            .sum();
        total.log2()
    }
}

/// How a slot transforms one source image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SlotMode {
    /// The image is exactly the model's size: shift and flip.
    Shift,
    /// The image is larger: crop, resample, flip.
    Crop,
}

pub(crate) fn slot_mode(width: u32, height: u32, g: Geometry) -> SlotMode {
    if width as usize == g.width && height as usize == g.height {
        SlotMode::Shift
    } else {
        SlotMode::Crop
    }
}

/// The crop-side range (in model sides) the key draws from for one photo.
pub(crate) fn zoom_range(width: u32, height: u32, g: Geometry, params: &Params) -> (f64, f64) {
    let fit = (width as f64 / g.width as f64).min(height as f64 / g.height as f64);
    let hi = params.max_zoom().min(fit).max(1.0);
    let lo = params.min_zoom().min(hi);
    (lo, hi)
}

/// Crop size in source pixels for zoom `z`; the same function the key uses.
pub(crate) fn crop_size(z: f64, width: u32, height: u32, g: Geometry) -> (u32, u32) {
    let cw = ((z * g.width as f64).floor() as u32).clamp(g.width as u32, width);
    let ch = ((z * g.height as f64).floor() as u32).clamp(g.height as u32, height);
    (cw, ch)
}

fn slot_choices(width: u32, height: u32, g: Geometry, params: &Params) -> f64 {
    let flips = if params.flip() { 2.0 } else { 1.0 };
    match slot_mode(width, height, g) {
        SlotMode::Shift => {
            let s = 2.0 * params.max_shift() as f64 + 1.0;
            s * s * flips
        }
        SlotMode::Crop => {
            let (lo, hi) = zoom_range(width, height, g, params);
            let (w_lo, _) = crop_size(lo, width, height, g);
            let (w_hi, _) = crop_size(hi, width, height, g);
            (w_lo..=w_hi)
                .map(|cw| {
                    // Approximate for non-square models: the key derives both
                    // sides from one zoom, this derives the height from the width.
                    let ch =
                        (cw as usize * g.height / g.width).clamp(g.height, height as usize) as u32;
                    (width - cw + 1) as f64 * (height - ch + 1) as f64
                })
                .sum::<f64>()
                * flips
        }
    }
}

/// One source image as the encryptors see it: its planar bytes start at
/// `offset` in the prepared buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub offset: u32,
    pub width: u32,
    pub height: u32,
}

/// The corpus converted once to the model's channel count, planar, in one
/// buffer: the layout both the CPU fast path and the GPU shader read.
pub(crate) struct PreparedPool {
    pub geometry: Geometry,
    pub bytes: Vec<u8>,
    pub entries: Vec<Entry>,
    pub fingerprint: [u8; 32],
}

impl PreparedPool {
    pub fn new(pool: &PublicPool, geometry: Geometry) -> Result<PreparedPool> {
        pool.check_for(geometry)?;
        let c = geometry.channels;
        let total: usize = pool
            .images
            .iter()
            .map(|i| i.width as usize * i.height as usize * c)
            .sum();
        if total > u32::MAX as usize - 4 {
            return Err(Error::InvalidPool(
                "corpus too large for 32-bit offsets".into(),
            ));
        }
        // Padded to whole u32 words, which is how the GPU reads it.
        let mut bytes = Vec::with_capacity(total.div_ceil(4) * 4);
        let mut entries = Vec::with_capacity(pool.images.len());
        for img in &pool.images {
            entries.push(Entry {
                offset: bytes.len() as u32,
                width: img.width,
                height: img.height,
            });
            let plane = img.width as usize * img.height as usize;
            match (img.channels, c) {
                (1, 1) => bytes.extend_from_slice(&img.pixels),
                (3, 1) => bytes.extend(
                    img.pixels
                        .chunks_exact(3)
                        .map(|p| luma_u8(p[0], p[1], p[2])),
                ),
                (1, 3) => {
                    for _ in 0..3 {
                        bytes.extend_from_slice(&img.pixels);
                    }
                }
                _ => {
                    for ch in 0..3 {
                        bytes.extend((0..plane).map(|i| img.pixels[3 * i + ch]));
                    }
                }
            }
        }
        bytes.resize(total.div_ceil(4) * 4, 0);
        Ok(PreparedPool {
            geometry,
            bytes,
            entries,
            fingerprint: pool.fingerprint,
        })
    }

    /// The raw value of one source pixel, 0 outside the image (black
    /// padding for shifted model-sized images).
    #[inline(always)]
    pub fn texel(&self, e: &Entry, c: usize, y: i32, x: i32) -> f32 {
        if x < 0 || y < 0 || x as u32 >= e.width || y as u32 >= e.height {
            return 0.0;
        }
        let plane = e.width as usize * e.height as usize;
        self.bytes[e.offset as usize + c * plane + y as usize * e.width as usize + x as usize]
            as f32
    }
}

fn take_u32(b: &[u8]) -> Option<(u32, &[u8])> {
    let (head, rest) = b.split_first_chunk::<4>()?;
    Some((u32::from_le_bytes(*head), rest))
}

fn in_file(e: Error, path: &Path) -> Error {
    match e {
        Error::InvalidPool(m) => Error::InvalidPool(format!("{}: {m}", path.display())),
        other => other,
    }
}

fn is_idx_name(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.contains("-ubyte") || name.contains(".idx")
}

fn image_limits(max_alloc: usize) -> image::Limits {
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_SIDE);
    limits.max_image_height = Some(MAX_IMAGE_SIDE);
    limits.max_alloc = Some(max_alloc.min(512 << 20) as u64);
    limits
}

fn decode_image(path: &Path, bytes: &[u8]) -> Result<PoolImage> {
    let img = crate::imageio::decode(path, bytes, MAX_IMAGE_SIDE, 512 << 20)?;
    PoolImage::from_dynamic(&img).map_err(|e| Error::ImageDecode {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

fn decode_png_bounded(png: &[u8], budget: usize) -> std::result::Result<PoolImage, String> {
    let mut reader =
        image::ImageReader::with_format(std::io::Cursor::new(png), image::ImageFormat::Png);
    reader.limits(image_limits(budget));
    let img = reader.decode().map_err(|e| e.to_string())?;
    PoolImage::from_dynamic(&img).map_err(|e| e.to_string())
}

/// Undoes gzip when `bytes` are gzipped (else borrows them), reading at most
/// `limit` bytes so that a small hostile file cannot exhaust memory.
pub(crate) fn gunzip_bounded(bytes: &[u8], limit: u64) -> Result<std::borrow::Cow<'_, [u8]>> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(std::borrow::Cow::Borrowed(bytes));
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| Error::InvalidPool(format!("corrupt gzip: {e}")))?;
    Ok(std::borrow::Cow::Owned(out))
}

/// Reads an IDX tensor of u8 (type 0x08) or big-endian f32 in [0, 1]
/// (type 0x0D): N x H x W (grey) or N x H x W x 3 (RGB). Gzip is undone first,
/// with the output bounded so that a small hostile file cannot exhaust memory.
pub fn read_idx(bytes: &[u8]) -> Result<Vec<PoolImage>> {
    let data = gunzip_bounded(bytes, MAX_TOTAL_BYTES as u64 * 4 + 1024)?;
    let data: &[u8] = &data;
    let bad = |why: &str| Error::InvalidPool(format!("corrupt IDX file: {why}"));
    if data.len() < 4 || data[0] != 0 || data[1] != 0 {
        return Err(bad("bad magic"));
    }
    let (dtype, ndim) = (data[2], data[3] as usize);
    let elem = match dtype {
        0x08 => 1,
        0x0D => 4,
        _ => return Err(bad("only u8 (0x08) and f32 (0x0D) data are supported")),
    };
    if !(ndim == 3 || (ndim == 4)) {
        return Err(bad("expected 3 dimensions (N,H,W) or 4 (N,H,W,3)"));
    }
    let mut dims = Vec::with_capacity(ndim);
    let mut rest = &data[4..];
    for _ in 0..ndim {
        let (head, r) = rest
            .split_first_chunk::<4>()
            .ok_or_else(|| bad("truncated header"))?;
        dims.push(u32::from_be_bytes(*head) as usize);
        rest = r;
    }
    let (n, h, w) = (dims[0], dims[1], dims[2]);
    let c = if ndim == 4 { dims[3] } else { 1 };
    if ndim == 4 && c != 3 {
        return Err(bad("the fourth dimension must be 3 (RGB)"));
    }
    if n == 0
        || n > MAX_IMAGES
        || h == 0
        || w == 0
        || h > MAX_IMAGE_SIDE as usize
        || w > MAX_IMAGE_SIDE as usize
    {
        return Err(bad("dimensions out of range"));
    }
    let per = h * w * c;
    let needed = n
        .checked_mul(per)
        .and_then(|v| v.checked_mul(elem))
        .ok_or_else(|| bad("size overflow"))?;
    if n * per > MAX_TOTAL_BYTES {
        return Err(bad("dataset too large"));
    }
    if rest.len() != needed {
        return Err(bad(&format!(
            "expected {needed} data bytes, found {}",
            rest.len()
        )));
    }
    let mut images = Vec::with_capacity(n);
    for i in 0..n {
        let pixels: Vec<u8> = if elem == 1 {
            rest[i * per..(i + 1) * per].to_vec()
        } else {
            let chunk = &rest[i * per * 4..(i + 1) * per * 4];
            let mut px = Vec::with_capacity(per);
            for b in chunk.chunks_exact(4) {
                let v = f32::from_be_bytes([b[0], b[1], b[2], b[3]]);
                if !v.is_finite() {
                    return Err(Error::NonFinite("IDX pool image"));
                }
                if !(0.0..=1.0).contains(&v) {
                    return Err(bad("f32 pixels must lie in [0, 1]"));
                }
                px.push((v * 255.0).round() as u8);
            }
            px
        };
        images.push(PoolImage::new(w as u32, h as u32, c as u8, pixels)?);
    }
    Ok(images)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny(n: usize, side: u32) -> PublicPool {
        let imgs = (0..n)
            .map(|i| PoolImage::new(side, side, 1, vec![i as u8; (side * side) as usize]).unwrap())
            .collect();
        PublicPool::from_images(imgs).unwrap()
    }

    #[test]
    fn packed_round_trip_keeps_fingerprint() {
        let p = tiny(3, 30);
        let back = PublicPool::from_packed(&p.to_packed().unwrap()).unwrap();
        assert_eq!(p.fingerprint(), back.fingerprint());
        assert_eq!(back.len(), 3);
    }

    #[test]
    fn corrupt_packs_are_errors() {
        let good = tiny(2, 30).to_packed().unwrap();
        for cut in [0, 5, 8, 11, 12, 20, good.len() - 1] {
            assert!(
                matches!(
                    PublicPool::from_packed(&good[..cut]),
                    Err(Error::InvalidPool(_))
                ),
                "cut {cut}"
            );
        }
        let mut flipped = good.clone();
        flipped[40] ^= 0xff;
        assert!(PublicPool::from_packed(&flipped).is_err());
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(PublicPool::from_packed(&trailing).is_err());
    }

    #[test]
    fn idx_nan_and_truncation_are_errors() {
        let mut idx = vec![0, 0, 0x0D, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2];
        for v in [0.5f32, f32::NAN, 0.1, 0.2] {
            idx.extend_from_slice(&v.to_be_bytes());
        }
        assert!(matches!(read_idx(&idx), Err(Error::NonFinite(_))));
        assert!(read_idx(&idx[..idx.len() - 1]).is_err());
        let ok = [0u8, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 7, 9];
        let imgs = read_idx(&ok).unwrap();
        assert_eq!(imgs[0].pixels(), &[7, 9]);
    }

    #[test]
    fn small_images_and_empty_pools_are_rejected() {
        assert!(PublicPool::from_images(vec![]).is_err());
        let g = Geometry {
            channels: 1,
            height: 28,
            width: 28,
        };
        assert!(tiny(1, 27).check_for(g).is_err());
        assert!(tiny(1, 28).check_for(g).is_ok());
    }

    #[test]
    fn effective_size_counts_shifts_and_crops() {
        let g = Geometry {
            channels: 1,
            height: 28,
            width: 28,
        };
        let p = Params::default();
        // 5x5 shifts x 2 flips per model-sized image.
        assert!((tiny(4, 28).effective_log2(g, &p) - (4.0f64 * 50.0).log2()).abs() < 1e-9);
        // A 30x30 photo: crops of 28 (9 positions) and 29 (4) and 30 (1), x2 flips.
        assert!((tiny(1, 30).effective_log2(g, &p) - 28f64.log2()).abs() < 1e-9);
    }
}
