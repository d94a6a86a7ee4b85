//! Where InstaHide's public slots come from: how a key may cut one corpus
//! image (a log-uniform crop of a photo, or a shift of a model-sized image),
//! and how many distinguishable public images that gives.

use crate::params::Params;
use crate::pool::PublicPool;
use crate::spec::Geometry;

/// How a slot transforms one source image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlotMode {
    /// The image is exactly the model's size: shift and flip.
    Shift,
    /// The image is larger: crop, resample, flip.
    Crop,
}

/// How a slot may cut a `width` x `height` source image for geometry `g`.
pub fn slot_mode(width: u32, height: u32, g: Geometry) -> SlotMode {
    if width as usize == g.width && height as usize == g.height {
        SlotMode::Shift
    } else {
        SlotMode::Crop
    }
}

/// The crop-side range (in model sides) the key draws from for one photo.
pub fn zoom_range(width: u32, height: u32, g: Geometry, params: &Params) -> (f64, f64) {
    let fit = (width as f64 / g.width as f64).min(height as f64 / g.height as f64);
    let hi = params.max_zoom().min(fit).max(1.0);
    let lo = params.min_zoom().min(hi);
    (lo, hi)
}

/// Crop size in source pixels for zoom `z`; the same function the key uses.
pub fn crop_size(z: f64, width: u32, height: u32, g: Geometry) -> (u32, u32) {
    let cw = ((z * g.width as f64).floor() as u32).clamp(g.width as u32, width);
    let ch = ((z * g.height as f64).floor() as u32).clamp(g.height as u32, height);
    (cw, ch)
}

pub(crate) fn slot_choices(width: u32, height: u32, g: Geometry, params: &Params) -> f64 {
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

/// log2 of the number of distinguishable public images one slot can
/// produce from `pool`: over all source images, every (crop size, integer
/// position, flip) for photos and every (shift, flip) for model-sized images.
pub(crate) fn effective_log2(pool: &PublicPool, geometry: Geometry, params: &Params) -> f64 {
    let total: f64 = pool
        .images()
        .iter()
        .map(|img| slot_choices(img.width(), img.height(), geometry, params))
        .sum();
    total.log2()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::tiny;

    #[test]
    fn effective_size_counts_shifts_and_crops() {
        let g = Geometry {
            channels: 1,
            height: 28,
            width: 28,
        };
        let p = Params::default();
        // 5x5 shifts x 2 flips per model-sized image.
        assert!((effective_log2(&tiny(4, 28), g, &p) - (4.0f64 * 50.0).log2()).abs() < 1e-9);
        // A 30x30 photo: crops of 28 (9 positions) and 29 (4) and 30 (1), x2 flips.
        assert!((effective_log2(&tiny(1, 30), g, &p) - 28f64.log2()).abs() < 1e-9);
    }
}
