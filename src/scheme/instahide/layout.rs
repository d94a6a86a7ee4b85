//! The corpus as InstaHide's kernels read it: converted once to the model's
//! channel count, planar, in one buffer padded to whole u32 words (the
//! layout both the CPU fast path and the GPU shader read).

use crate::color::luma_u8;
use crate::error::{Error, Result};
use crate::pool::PublicPool;
use crate::spec::Geometry;

/// One source image as the encryptors see it: its planar bytes start at
/// `offset` in the prepared buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Where its bytes start.
    pub offset: u32,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// The corpus converted once to the model's channel count, planar, in one
/// buffer: the layout both the CPU fast path and the GPU shader read.
pub struct PreparedPool {
    /// The model geometry it was prepared for.
    pub geometry: Geometry,
    /// Every image's planes, end to end.
    pub bytes: Vec<u8>,
    /// Where each image lies in `bytes`.
    pub entries: Vec<Entry>,
    /// The corpus fingerprint.
    pub fingerprint: [u8; 32],
}

impl PreparedPool {
    /// Converts `pool` for `geometry`'s channel count; errors unless every
    /// image is at least the model's size.
    pub fn new(pool: &PublicPool, geometry: Geometry) -> Result<PreparedPool> {
        pool.check_for(geometry)?;
        let c = geometry.channels;
        let total: usize = pool
            .images()
            .iter()
            .map(|i| i.width() as usize * i.height() as usize * c)
            .sum();
        if total > u32::MAX as usize - 4 {
            return Err(Error::InvalidPool(
                "corpus too large for 32-bit offsets".into(),
            ));
        }
        // Padded to whole u32 words, which is how the GPU reads it.
        let mut bytes = Vec::with_capacity(total.div_ceil(4) * 4);
        let mut entries = Vec::with_capacity(pool.len());
        for img in pool.images() {
            entries.push(Entry {
                offset: bytes.len() as u32,
                width: img.width(),
                height: img.height(),
            });
            let plane = img.width() as usize * img.height() as usize;
            match (img.channels(), c) {
                (1, 1) => bytes.extend_from_slice(img.pixels()),
                (3, 1) => bytes.extend(
                    img.pixels()
                        .chunks_exact(3)
                        .map(|p| luma_u8(p[0], p[1], p[2])),
                ),
                (1, 3) => {
                    for _ in 0..3 {
                        bytes.extend_from_slice(img.pixels());
                    }
                }
                _ => {
                    for ch in 0..3 {
                        bytes.extend((0..plane).map(|i| img.pixels()[3 * i + ch]));
                    }
                }
            }
        }
        bytes.resize(total.div_ceil(4) * 4, 0);
        Ok(PreparedPool {
            geometry,
            bytes,
            entries,
            fingerprint: pool.fingerprint(),
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
