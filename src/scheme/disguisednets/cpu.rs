//! DisguisedNets on the CPU: the spec-like reference (block by block, in
//! the paper's order) and the fast path, which computes each output element
//! in the order the shader does (`shaders/disguise_blocks.wgsl`): the
//! reference's sums, term for term, so the two agree bit for bit.

use rand_chacha::ChaCha20Rng;
use rand_distr::{Distribution, StandardNormal};

use super::key::Transform;

/// Fresh noise for one frame: `len` draws of N(0, sigma^2).
pub(crate) fn draw_noise(rng: &mut ChaCha20Rng, sigma: f32, out: &mut [f32]) {
    for v in out.iter_mut() {
        let z: f32 = StandardNormal.sample(rng);
        *v = sigma * z;
    }
}

/// Block by block: each channel's block `B` at position `p` becomes
/// `B R_p`, written at the position the permutation sends `p` to, then the
/// noise is added.
#[cfg_attr(not(feature = "hazmat"), allow(dead_code))]
pub(crate) fn reference(
    t: &Transform,
    channels: usize,
    x: &[f32],
    noise: Option<&[f32]>,
) -> Vec<f32> {
    let b = t.binding.block;
    let (h, w) = (t.binding.height, t.binding.width);
    let mut dest = vec![0usize; t.source.len()];
    for (q, &p) in t.source.iter().enumerate() {
        dest[p as usize] = q;
    }
    let mut out = vec![0f32; x.len()];
    for c in 0..channels {
        let plane = c * h * w;
        for (p, &q) in dest.iter().enumerate() {
            let (py, px) = ((p / t.cols) * b, (p % t.cols) * b);
            let (qy, qx) = ((q / t.cols) * b, (q % t.cols) * b);
            let r = &t.matrices[p * b * b..(p + 1) * b * b];
            for i in 0..b {
                for j in 0..b {
                    let mut acc = 0f32;
                    for l in 0..b {
                        acc += x[plane + (py + i) * w + px + l] * r[l * b + j];
                    }
                    out[plane + (qy + i) * w + qx + j] = acc;
                }
            }
        }
    }
    if let Some(noise) = noise {
        for (o, n) in out.iter_mut().zip(noise) {
            *o += n;
        }
    }
    out
}

/// Output element by output element, reading the block that lands there:
/// the shader's loop. `out` holds `x.len()` values.
pub(crate) fn disguise(t: &Transform, x: &[f32], noise: Option<&[f32]>, out: &mut [f32]) {
    let b = t.binding.block;
    let (h, w) = (t.binding.height, t.binding.width);
    for (plane_in, plane_out) in x.chunks_exact(h * w).zip(out.chunks_exact_mut(h * w)) {
        for (q, &p) in t.source.iter().enumerate() {
            let p = p as usize;
            let (py, px) = ((p / t.cols) * b, (p % t.cols) * b);
            let (qy, qx) = ((q / t.cols) * b, (q % t.cols) * b);
            let r = &t.matrices[p * b * b..(p + 1) * b * b];
            for i in 0..b {
                let row = &plane_in[(py + i) * w + px..][..b];
                let dst = &mut plane_out[(qy + i) * w + qx..][..b];
                for (j, d) in dst.iter_mut().enumerate() {
                    let mut acc = 0f32;
                    for (l, v) in row.iter().enumerate() {
                        acc += v * r[l * b + j];
                    }
                    *d = acc;
                }
            }
        }
    }
    if let Some(noise) = noise {
        for (o, n) in out.iter_mut().zip(noise) {
            *o += n;
        }
    }
}
