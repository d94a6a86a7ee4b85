//! The IDX format of MNIST-like datasets: image tensors (a corpus source)
//! and label vectors, gzipped or not. Read from untrusted files: gzip output
//! and every dimension are bounded before anything is allocated.

use std::io::Read;

use super::{MAX_IMAGE_SIDE, MAX_IMAGES, MAX_TOTAL_BYTES, PoolImage};
use crate::error::{Error, Result};

/// Undoes gzip when `bytes` are gzipped (else borrows them), reading at most
/// `limit` bytes so that a small hostile file cannot exhaust memory.
fn gunzip_bounded(bytes: &[u8], limit: u64) -> Result<std::borrow::Cow<'_, [u8]>> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(std::borrow::Cow::Borrowed(bytes));
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| Error::InvalidIdx(format!("corrupt gzip: {e}")))?;
    Ok(std::borrow::Cow::Owned(out))
}

/// Reads an IDX tensor of u8 (type 0x08) or big-endian f32 in [0, 1]
/// (type 0x0D): N x H x W (grey) or N x H x W x 3 (RGB). Gzip is undone first,
/// with the output bounded so that a small hostile file cannot exhaust memory.
pub fn read_idx(bytes: &[u8]) -> Result<Vec<PoolImage>> {
    let data = gunzip_bounded(bytes, MAX_TOTAL_BYTES as u64 * 4 + 1024)?;
    let data: &[u8] = &data;
    let bad = |why: &str| Error::InvalidIdx(format!("corrupt IDX file: {why}"));
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

/// Reads a 1-dimensional u8 IDX file (labels), gzipped or not.
pub fn read_idx_labels(bytes: &[u8]) -> Result<Vec<u8>> {
    let data = gunzip_bounded(bytes, 1 << 30)?;
    let data: &[u8] = &data;
    let bad = |why: &str| Error::InvalidIdx(format!("corrupt IDX label file: {why}"));
    let header: [u8; 4] = data
        .get(..4)
        .and_then(|h| h.try_into().ok())
        .ok_or_else(|| bad("truncated"))?;
    if header != [0, 0, 8, 1] {
        return Err(bad("expected u8 data with one dimension"));
    }
    let n = data
        .get(4..8)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| bad("truncated"))?;
    let body = &data[8..];
    if body.len() != n as usize {
        return Err(bad("length does not match the header"));
    }
    Ok(body.to_vec())
}

/// Whether a file name looks like an IDX file.
pub(super) fn is_idx_name(path: &std::path::Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.contains("-ubyte") || name.contains(".idx")
}
