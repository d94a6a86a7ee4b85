//! The packed corpus file (`.ehpool`): magic, image count, then each image
//! as a length-prefixed PNG (lossless, so the fingerprint survives
//! decoders). Read from untrusted files: every size is checked before use.

use std::path::Path;

use super::{MAX_IMAGES, MAX_TOTAL_BYTES, PoolImage, PublicPool};
use crate::error::{Error, Result};
use crate::imageio::DecodeLimits;

/// The first bytes of every packed corpus file.
pub(super) const PACK_MAGIC: &[u8; 8] = b"EHPOOL01";

impl PublicPool {
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
            total += img.pixels().len();
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
}

fn take_u32(b: &[u8]) -> Option<(u32, &[u8])> {
    let (head, rest) = b.split_first_chunk::<4>()?;
    Some((u32::from_le_bytes(*head), rest))
}

fn decode_png_bounded(png: &[u8], budget: usize) -> std::result::Result<PoolImage, String> {
    let img = crate::imageio::decode_png(png, DecodeLimits::CORPUS.within(budget))?;
    PoolImage::from_dynamic(&img).map_err(|e| e.to_string())
}
