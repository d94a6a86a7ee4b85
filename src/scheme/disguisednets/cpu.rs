//! DisguisedNets on the CPU: the spec-like reference (block by block, in
//! the paper's order) and the fast path, which walks the output as the
//! shader does (`shaders/disguise_blocks.wgsl`) and sums each element's
//! terms in the reference's order, so the two agree bit for bit.

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

/// Output block by output block, reading the block that lands there: the
/// shader's walk. `out` holds `x.len()` values.
pub(crate) fn disguise(t: &Transform, x: &[f32], noise: Option<&[f32]>, out: &mut [f32]) {
    // Common block sides get a kernel whose loops the compiler unrolls.
    match t.binding.block {
        4 => blocks::<4>(t, x, out),
        7 => blocks::<7>(t, x, out),
        8 => blocks::<8>(t, x, out),
        16 => blocks::<16>(t, x, out),
        _ => blocks_any(t, x, out),
    }
    if let Some(noise) = noise {
        for (o, n) in out.iter_mut().zip(noise) {
            *o += n;
        }
    }
}

/// Each output block position `q` with its source `p` and matrix, per plane.
fn for_each_block(
    t: &Transform,
    x: &[f32],
    out: &mut [f32],
    mut f: impl FnMut(&[f32], &mut [f32], usize, usize, &[f32]),
) {
    let b = t.binding.block;
    let (h, w) = (t.binding.height, t.binding.width);
    for (plane_in, plane_out) in x.chunks_exact(h * w).zip(out.chunks_exact_mut(h * w)) {
        for (q, &p) in t.source.iter().enumerate() {
            let p = p as usize;
            let src = (p / t.cols) * b * w + (p % t.cols) * b;
            let dst = (q / t.cols) * b * w + (q % t.cols) * b;
            f(
                &plane_in[src..],
                &mut plane_out[dst..],
                w,
                b,
                &t.matrices[p * b * b..(p + 1) * b * b],
            );
        }
    }
}

/// One block row at a time: row l of R scaled by the block's element l,
/// added over l in order (each element's sum in the reference's order, and
/// contiguous in j for the vector units).
fn blocks<const B: usize>(t: &Transform, x: &[f32], out: &mut [f32]) {
    for_each_block(t, x, out, |src, dst, w, _, r| {
        let r: &[[f32; B]] = r.as_chunks::<B>().0;
        for i in 0..B {
            let row: &[f32; B] = src[i * w..][..B].try_into().unwrap_or(&[0.0; B]);
            let mut acc = [0f32; B];
            for (v, r_row) in row.iter().zip(r) {
                for (a, m) in acc.iter_mut().zip(r_row) {
                    *a += v * m;
                }
            }
            dst[i * w..][..B].copy_from_slice(&acc);
        }
    });
}

/// [`blocks`] for any block side.
fn blocks_any(t: &Transform, x: &[f32], out: &mut [f32]) {
    for_each_block(t, x, out, |src, dst, w, b, r| {
        for i in 0..b {
            let row = &src[i * w..][..b];
            let d = &mut dst[i * w..][..b];
            d.fill(0.0);
            for (v, r_row) in row.iter().zip(r.chunks_exact(b)) {
                for (a, m) in d.iter_mut().zip(r_row) {
                    *a += v * m;
                }
            }
        }
    });
}
