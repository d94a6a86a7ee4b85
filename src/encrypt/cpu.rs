//! InstaHide on the CPU: a reference that reads like the spec, and a fast
//! path that computes the same values in the same order (so the two agree
//! bit for bit) with no per-element allocation.

use rand_core::Rng;
use zeroize::Zeroize;

use crate::key::{OneTimeKey, Slot};
use crate::pool::{Entry, PreparedPool};
use crate::spec::Affine;

/// Where one output coordinate samples along one axis: source indices i0, i1
/// (absolute, may lie outside a shifted image) and the weight t of i1.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Tap {
    i0: i32,
    i1: i32,
    t: f32,
}

/// Half-pixel-centre mapping of output coordinate `o` into a crop of `size`
/// source pixels starting at `origin`, clamped to the crop. Shader twin: `tap`
/// in shaders/instahide_mix.wgsl.
#[inline(always)]
pub(crate) fn tap(o: usize, n_out: usize, step: f32, size: u32, origin: i32, flip: bool) -> Tap {
    let o = if flip { n_out - 1 - o } else { o };
    let f = ((o as f32 + 0.5) * step - 0.5).clamp(0.0, (size - 1) as f32);
    let i = f.floor();
    let iu = i as u32;
    Tap { i0: origin + iu as i32, i1: origin + (iu + 1).min(size - 1) as i32, t: f - i }
}

#[inline(always)]
fn bilerp(p00: f32, p01: f32, p10: f32, p11: f32, tx: f32, ty: f32) -> f32 {
    (1.0 - ty) * ((1.0 - tx) * p00 + tx * p01) + ty * ((1.0 - tx) * p10 + tx * p11)
}

/// The public image of one slot: the key's crop of a corpus image, resampled
/// to the model's size and normalised (spec steps 1 and 3).
fn public_image(pool: &PreparedPool, slot: &Slot, affine: &Affine) -> Vec<f32> {
    let g = pool.geometry;
    let e = &pool.entries[slot.image as usize];
    let mut z = Vec::with_capacity(g.len());
    for c in 0..g.channels {
        for y in 0..g.height {
            let ty = tap(y, g.height, slot.step_y, slot.ch, slot.y0, false);
            for x in 0..g.width {
                let tx = tap(x, g.width, slot.step_x, slot.cw, slot.x0, slot.flip != 0);
                let v = bilerp(
                    pool.texel(e, c, ty.i0, tx.i0),
                    pool.texel(e, c, ty.i0, tx.i1),
                    pool.texel(e, c, ty.i1, tx.i0),
                    pool.texel(e, c, ty.i1, tx.i1),
                    tx.t,
                    ty.t,
                );
                z.push(v * affine.scale[c] + affine.offset[c]);
            }
        }
    }
    z
}

/// The reference: `m = l0*x + sum_i li*z_i`, then `e = sigma * m` with one
/// random sign per element.
pub(crate) fn encrypt_reference(x: &[f32], key: &OneTimeKey, pool: &PreparedPool, affine: &Affine) -> Vec<f32> {
    let w = key.weights();
    // Mix.
    let mut m: Vec<f32> = x.iter().map(|v| w[0] * v).collect();
    for (i, slot) in key.slots().iter().enumerate() {
        let z = public_image(pool, slot, affine);
        for (mv, zv) in m.iter_mut().zip(z) {
            *mv += w[i + 1] * zv;
        }
    }
    // Mask: element n takes bit n % 32 of word n / 32 of the mask stream.
    let mut stream = key.mask_stream();
    let mut word = 0u32;
    for (n, v) in m.iter_mut().enumerate() {
        if n % 32 == 0 {
            word = stream.next_u32();
        }
        let sigma = if (word >> (n % 32)) & 1 == 1 { -1.0 } else { 1.0 };
        *v *= sigma;
    }
    word.zeroize();
    m
}

/// Reusable buffers for the fast path; holds mask words between calls only
/// transiently (zeroed after each frame).
#[derive(Default)]
pub(crate) struct Scratch {
    cols: Vec<Tap>,
    rows: Vec<Tap>,
    acc: Vec<f32>,
    words: Vec<u32>,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        self.words.zeroize();
    }
}

/// Source rows for one output row of a slot; `None` where a shifted image's
/// row lies outside it (black padding).
#[inline(always)]
fn source_row<'a>(pool: &'a PreparedPool, e: &Entry, c: usize, y: i32) -> Option<&'a [u8]> {
    if y < 0 || y as u32 >= e.height {
        return None;
    }
    let w = e.width as usize;
    let start = e.offset as usize + c * w * e.height as usize + y as usize * w;
    Some(&pool.bytes[start..start + w])
}

#[inline(always)]
fn at(row: Option<&[u8]>, x: i32) -> f32 {
    match row {
        Some(r) if x >= 0 && (x as usize) < r.len() => r[x as usize] as f32,
        _ => 0.0,
    }
}

/// The fast path: per slot, the column and row taps are computed once per
/// frame; each output row is mixed in a row accumulator and masked with whole
/// mask words.
pub(crate) fn encrypt_fast(
    x: &[f32],
    key: &OneTimeKey,
    pool: &PreparedPool,
    affine: &Affine,
    out: &mut [f32],
    s: &mut Scratch,
) {
    let g = pool.geometry;
    let (h, w) = (g.height, g.width);
    let weights = key.weights();
    let slots = key.slots();

    s.cols.clear();
    s.rows.clear();
    for slot in slots {
        s.cols.extend((0..w).map(|o| tap(o, w, slot.step_x, slot.cw, slot.x0, slot.flip != 0)));
        s.rows.extend((0..h).map(|o| tap(o, h, slot.step_y, slot.ch, slot.y0, false)));
    }
    s.words.clear();
    let mut stream = key.mask_stream();
    s.words.extend((0..g.len().div_ceil(32)).map(|_| stream.next_u32()));
    s.acc.resize(w, 0.0);

    for c in 0..g.channels {
        let (scale, offset) = (affine.scale[c], affine.offset[c]);
        for y in 0..h {
            let base = c * h * w + y * w;
            for (a, v) in s.acc.iter_mut().zip(&x[base..base + w]) {
                *a = weights[0] * v;
            }
            for (si, slot) in slots.iter().enumerate() {
                let e = &pool.entries[slot.image as usize];
                let ty = s.rows[si * h + y];
                let r0 = source_row(pool, e, c, ty.i0);
                let r1 = source_row(pool, e, c, ty.i1);
                let wi = weights[si + 1];
                let cols = &s.cols[si * w..(si + 1) * w];
                match (r0, r1) {
                    // Crops always lie inside their image: index directly.
                    (Some(r0), Some(r1)) if cols.iter().all(|t| t.i0 >= 0 && (t.i1 as usize) < r0.len()) => {
                        for (a, t) in s.acc.iter_mut().zip(cols) {
                            let (i0, i1) = (t.i0 as usize, t.i1 as usize);
                            let v = bilerp(r0[i0] as f32, r0[i1] as f32, r1[i0] as f32, r1[i1] as f32, t.t, ty.t);
                            *a += wi * (v * scale + offset);
                        }
                    }
                    _ => {
                        for (a, t) in s.acc.iter_mut().zip(cols) {
                            let v = bilerp(at(r0, t.i0), at(r0, t.i1), at(r1, t.i0), at(r1, t.i1), t.t, ty.t);
                            *a += wi * (v * scale + offset);
                        }
                    }
                }
            }
            for (i, a) in s.acc.iter().enumerate() {
                let n = base + i;
                let bit = (s.words[n >> 5] >> (n & 31)) & 1;
                out[n] = f32::from_bits(a.to_bits() ^ (bit << 31));
            }
        }
    }
    s.words.zeroize();
    s.acc.zeroize();
}
