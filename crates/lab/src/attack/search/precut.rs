//! The fixed pre-cut pool the keyed crops replace, for comparison.

use edgehide::hazmat::{Affine, PreparedPool, public_image};

use crate::error::Result;

/// A fixed pool of `n` model-sized images cut once from `pool` by the keyed
/// transform of `spec`: the design the keyed crops replace, kept to measure
/// the difference (a model-sized corpus with `max_shift` 0 and no flip is
/// exactly a list of pre-cut images).
pub fn precut_pool(
    pool: &edgehide::PublicPool,
    spec: &edgehide::ModelSpec,
    n: usize,
) -> Result<edgehide::PublicPool> {
    let g = spec.geometry();
    let prepared = PreparedPool::new(pool, g)?;
    let raw = Affine {
        scale: [1.0; 3],
        offset: [0.0; 3],
    };
    let mut rng = edgehide::hazmat::os_rng()?;
    let mut images = Vec::with_capacity(n);
    for _ in 0..n {
        let slot = edgehide::hazmat::draw_slot(&mut rng, spec.params(), &prepared);
        let planar = public_image(&prepared, &slot, &raw);
        let plane = g.width * g.height;
        let pixels: Vec<u8> = (0..plane)
            .flat_map(|i| (0..g.channels).map(move |c| c * plane + i))
            .map(|j| planar[j].round().clamp(0.0, 255.0) as u8)
            .collect();
        images.push(edgehide::PoolImage::new(
            g.width as u32,
            g.height as u32,
            g.channels as u8,
            pixels,
        )?);
    }
    Ok(edgehide::PublicPool::from_images(images)?)
}
