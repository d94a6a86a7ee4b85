//! InstaHide on the CPU: a reference that reads like the spec, and a fast
//! path that computes the same values in the same order (so the two agree
//! bit for bit) with no per-element allocation.

use rand_core::Rng;
use zeroize::Zeroize;

use super::FrameCtx;
use super::key::{OneTimeKey, Slot};
use super::layout::{Entry, PreparedPool};
use crate::params::MAX_K;
use crate::spec::Affine;

#[cfg(target_arch = "x86_64")]
mod avx512;

/// Where one output coordinate samples along one axis: source indices i0, i1
/// (absolute, may lie outside a shifted image) and the weight t of i1.
#[derive(Clone, Copy, Debug, Default)]
#[allow(missing_docs)] // hazmat
pub struct Tap {
    pub i0: i32,
    pub i1: i32,
    pub t: f32,
}

/// Half-pixel-centre mapping of output coordinate `o` into a crop of `size`
/// source pixels starting at `origin`, clamped to the crop. Shader twin: `tap`
/// in shaders/instahide_mix.wgsl.
#[inline(always)]
pub fn tap(o: usize, n_out: usize, step: f32, size: u32, origin: i32, flip: bool) -> Tap {
    let o = if flip { n_out - 1 - o } else { o };
    let f = ((o as f32 + 0.5) * step - 0.5).clamp(0.0, (size - 1) as f32);
    // f >= 0 after the clamp, so truncation is floor (and avoids a libm call).
    let iu = f as u32;
    let i = iu as f32;
    Tap {
        i0: origin + iu as i32,
        i1: origin + (iu + 1).min(size - 1) as i32,
        t: f - i,
    }
}

/// `a + t (b - a)`. The scheme's one interpolation formula: the reference,
/// the fast path and the shader all use it, in this order of operations.
#[inline(always)]
fn lerp(a: f32, b: f32, t: f32) -> f32 {
    a + t * (b - a)
}

/// Bilinear interpolation, vertical first: rows `y0`/`y1` are blended at
/// each of the two columns, then the two columns are blended.
#[inline(always)]
fn bilerp(p00: f32, p01: f32, p10: f32, p11: f32, tx: f32, ty: f32) -> f32 {
    lerp(lerp(p00, p10, ty), lerp(p01, p11, ty), tx)
}

/// The public image of one slot: the key's crop of a corpus image, resampled
/// to the model's size and normalised (spec steps 1 and 3).
#[cfg_attr(not(feature = "hazmat"), allow(dead_code))]
pub fn public_image(pool: &PreparedPool, slot: &Slot, affine: &Affine) -> Vec<f32> {
    let plane = pool.geometry.height * pool.geometry.width;
    let mut z = resampled_crop(pool, slot);
    for (n, v) in z.iter_mut().enumerate() {
        let c = n / plane;
        *v = *v * affine.scale[c] + affine.offset[c];
    }
    z
}

/// The key's crop of a corpus image resampled to the model's size, in raw
/// 0..255 pixel values (spec step 1, before normalisation).
fn resampled_crop(pool: &PreparedPool, slot: &Slot) -> Vec<f32> {
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
                z.push(v);
            }
        }
    }
    z
}

/// The mixing coefficients with the normalisation folded in, per channel c:
/// `l0*x + sum_i li*(scale*v_i + offset)` is computed as
/// `l0*x + pad` with `pad = offset[c] + sum_i coef[c][i]*v_i` summed in slot
/// order, `coef[c][i] = li*scale` and `offset[c] = sum_i li*offset`. The
/// same value as normalising each public image first, in two operations per
/// slot and element instead of four; and the frame enters last, so the pad
/// can be computed before the frame exists (`PreparedKey`). Every path
/// (reference, fast paths, prepared keys, shader) computes it in this
/// order, so they agree bit for bit (the shader within rounding).
pub(crate) struct Folded {
    pub offset: [f32; 3],
    pub coef: [[f32; MAX_K - 1]; 3],
}

impl Folded {
    pub(crate) fn new(weights: &[f32], affine: &Affine) -> Folded {
        let mut f = Folded {
            offset: [0.0; 3],
            coef: [[0.0; MAX_K - 1]; 3],
        };
        for c in 0..3 {
            for (i, w) in weights[1..].iter().enumerate() {
                f.coef[c][i] = w * affine.scale[c];
                f.offset[c] += w * affine.offset[c];
            }
        }
        f
    }
}

impl Drop for Folded {
    fn drop(&mut self) {
        // Derived from the key's weights.
        self.offset.zeroize();
        self.coef.iter_mut().for_each(|c| c.zeroize());
    }
}

/// Everything of the mix but the frame: `offset[c] + sum_i coef[c][i]*v_i`,
/// slot by slot (`Folded`): the reference's first step.
fn reference_pad(ctx: &FrameCtx) -> Vec<f32> {
    let FrameCtx { key, pool, affine } = *ctx;
    let plane = pool.geometry.height * pool.geometry.width;
    let f = Folded::new(key.weights(), affine);
    let mut pad: Vec<f32> = (0..pool.geometry.len())
        .map(|n| f.offset[n / plane])
        .collect();
    for (i, slot) in key.slots().iter().enumerate() {
        let mut v = resampled_crop(pool, slot);
        for (n, (p, vv)) in pad.iter_mut().zip(&v).enumerate() {
            *p += f.coef[n / plane][i] * vv;
        }
        // The crop tells which image and window the key picked.
        v.zeroize();
    }
    pad
}

/// The reference: `m = l0*x + sum_i li*z_i` with `z_i` the normalised public
/// images (in the folded form and order of `Folded`), then `e = sigma * m`
/// with one random sign per element.
#[cfg_attr(not(feature = "hazmat"), allow(dead_code))]
pub(crate) fn encrypt_reference(ctx: &FrameCtx, x: &[f32]) -> Vec<f32> {
    let key = ctx.key;
    // Mix: the public images' pad first, the frame last.
    let mut m = reference_pad(ctx);
    for (mv, v) in m.iter_mut().zip(x) {
        *mv += key.weights()[0] * v;
    }
    // Mask: element n takes bit n % 32 of word n / 32 of the mask stream.
    let mut stream = key.mask_stream();
    let mut word = 0u32;
    for (n, v) in m.iter_mut().enumerate() {
        if n % 32 == 0 {
            word = stream.next_u32();
        }
        let sigma = if (word >> (n % 32)) & 1 == 1 {
            -1.0
        } else {
            1.0
        };
        *v *= sigma;
    }
    word.zeroize();
    m
}

/// Reusable buffers for the fast path. Mask words live here only while one
/// frame is being encrypted and are zeroed after it.
#[derive(Default)]
pub(crate) struct Scratch {
    /// Per slot and unflipped output column: the horizontal weight and the
    /// first source column relative to the crop.
    col_t: Vec<f32>,
    col_j: Vec<u32>,
    /// Per slot: runs of output columns whose source columns are consecutive.
    runs: Vec<Run>,
    run_span: Vec<std::ops::Range<usize>>,
    sampled: Vec<f32>,
    cols: Vec<Tap>,
    rows: Vec<Tap>,
    inside: Vec<bool>,
    blended: Vec<f32>,
    words: Vec<u32>,
    /// The AVX-512 kernel's taps and horizontal weights: per slot and run
    /// of sixteen outputs.
    #[cfg(target_arch = "x86_64")]
    chunks: Vec<avx512::ChunkTaps>,
    #[cfg(target_arch = "x86_64")]
    plans: Vec<avx512::SlotPlan>,
    /// Per slot, the current output row's two source rows blended (floats).
    vrows: Vec<f32>,
}

/// Output columns `x .. x + len` read source columns `j .. j + len` (relative
/// to the crop) and their right-hand neighbours: contiguous slices, so the
/// horizontal pass over a run vectorises.
#[derive(Clone, Copy, Debug)]
struct Run {
    x: usize,
    j: usize,
    len: usize,
}

impl Scratch {
    /// Clears everything derived from the key: the mask words, and the
    /// crop taps and sampled crop values (they would tell which crops the
    /// key picked). Runs after every frame.
    fn wipe(&mut self) {
        self.words.zeroize();
        self.col_t.zeroize();
        self.col_j.zeroize();
        self.sampled.zeroize();
        self.blended.zeroize();
        self.vrows.zeroize();
        self.inside.zeroize();
        for taps in [&mut self.cols, &mut self.rows] {
            taps.fill(Tap::default());
            taps.clear();
        }
        self.runs.fill(Run { x: 0, j: 0, len: 0 });
        self.runs.clear();
        self.run_span.clear();
        #[cfg(target_arch = "x86_64")]
        avx512::wipe(&mut self.chunks, &mut self.plans);
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        self.wipe();
    }
}

thread_local! {
    /// One scratch per thread, so single-frame calls allocate nothing after
    /// the first. It holds no secret between calls (`Scratch::wipe`).
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// Runs `f` with this thread's scratch buffers.
pub(crate) fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|s| match s.try_borrow_mut() {
        Ok(mut s) => f(&mut s),
        // Re-entered (cannot happen today): fall back to fresh buffers.
        Err(_) => f(&mut Scratch::default()),
    })
}

/// The source row `y` of channel `c`; `None` outside the image (a shifted
/// model-sized image's black padding).
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

/// Output rows whose source rows are requested from memory ahead of use.
const PREFETCH_ROWS: usize = 8;

/// Asks for the cache lines of source row `y` of slot `slot`'s crop, channel
/// `c`, ahead of use. Each frame's crops are fresh (the key picks them), so
/// in a real client they are cold: a request, a camera frame and a model
/// run evict them between frames. Fetching whole rows ahead lets the loads
/// overlap instead of stalling one after another.
#[inline(always)]
fn prefetch_row(pool: &PreparedPool, e: &Entry, slot: &Slot, c: usize, y: i32) {
    if let Some(row) = source_row(pool, e, c, y) {
        let x0 = slot.x0.max(0) as usize;
        let end = (x0 + slot.cw as usize).min(row.len());
        if x0 >= end {
            return;
        }
        let span = &row[x0..end];
        for line in span.chunks(64) {
            prefetch(line.as_ptr());
        }
        prefetch(&span[span.len() - 1]);
    }
}

#[inline(always)]
fn prefetch(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint; it never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// `SIGN_BITS[b][i]` is bit i of byte b moved to the f32 sign position: XOR
/// eight outputs with one row to apply eight mask bits at once.
static SIGN_BITS: [[u32; 8]; 256] = {
    let mut t = [[0u32; 8]; 256];
    let mut b = 0;
    while b < 256 {
        let mut i = 0;
        while i < 8 {
            t[b][i] = ((b as u32 >> i) & 1) << 31;
            i += 1;
        }
        b += 1;
    }
    t
};

/// Flips the sign of `out[n]` where bit n of the mask words is set.
pub(crate) fn apply_mask(out: &mut [f32], words: &[u32]) {
    let whole = out.len() / 32;
    let mut chunks = out.chunks_exact_mut(32);
    for (chunk, word) in (&mut chunks).zip(words) {
        for (eight, byte) in chunk.chunks_exact_mut(8).zip(word.to_le_bytes()) {
            for (o, m) in eight.iter_mut().zip(&SIGN_BITS[byte as usize]) {
                *o = f32::from_bits(o.to_bits() ^ m);
            }
        }
    }
    let tail = chunks.into_remainder();
    if let Some(word) = words.get(whole) {
        for (b, o) in tail.iter_mut().enumerate() {
            *o = f32::from_bits(o.to_bits() ^ (((word >> b) & 1) << 31));
        }
    }
}

/// The horizontal pass of one blended crop row `v` into `out` (unflipped
/// column order): by runs of consecutive source columns when they are long
/// (crops near the model's size), else column by column (zoomed-out crops,
/// where every run has length one).
#[inline(always)]
fn sample_row(v: &[f32], ts: &[f32], js: &[u32], runs: &[Run], out: &mut [f32]) {
    if runs.len() * 4 > out.len() {
        for ((p, &j), t) in out.iter_mut().zip(js).zip(ts) {
            let pair = &v[j as usize..j as usize + 2];
            *p = lerp(pair[0], pair[1], *t);
        }
    } else {
        for r in runs {
            let (x, j, n) = (r.x, r.j, r.len);
            for (((p, l), rt), t) in out[x..x + n]
                .iter_mut()
                .zip(&v[j..j + n])
                .zip(&v[j + 1..j + n + 1])
                .zip(&ts[x..x + n])
            {
                *p = lerp(*l, *rt, *t);
            }
        }
    }
}

/// The fast path. Per slot, the column and row taps are computed once per
/// frame. Each output row is mixed in place: for a slot whose taps all fall
/// inside its image, the two source rows are first blended vertically over
/// the crop's columns (contiguous, vectorisable), then each output pixel
/// blends two neighbouring values of that row; the values equal the
/// reference's because `bilerp` is vertical-first too. The blended row is
/// padded with a copy of its last value, so the right-hand neighbour is
/// always `j + 1` (at the clamped edge the weight is 0 and the copy changes
/// nothing). The mask is applied last, eight elements per table lookup.
// Compiled twice, plain x86-64 and with AVX2 (picked at run time), since the
// vertical blend and the runs vectorise twice as wide there. No FMA target:
// fused multiply-adds would round differently from the reference.
#[multiversion::multiversion(targets("x86_64+avx2"))]
fn encrypt_portable(ctx: &FrameCtx, x: Option<&[f32]>, out: &mut [f32], s: &mut Scratch) {
    let FrameCtx { key, pool, affine } = *ctx;
    let g = pool.geometry;
    let (h, w) = (g.height, g.width);
    let weights = key.weights();
    let slots = key.slots();
    let folded = Folded::new(weights, affine);

    s.cols.clear();
    s.rows.clear();
    s.inside.clear();
    s.col_t.clear();
    s.col_j.clear();
    s.runs.clear();
    s.run_span.clear();
    for slot in slots {
        let e = &pool.entries[slot.image as usize];
        let c0 = s.cols.len();
        let r0 = s.rows.len();
        // Unflipped taps: a flipped slot's output row is the reverse of its
        // unflipped one (`tap` mirrors the output coordinate).
        s.cols
            .extend((0..w).map(|o| tap(o, w, slot.step_x, slot.cw, slot.x0, false)));
        s.rows
            .extend((0..h).map(|o| tap(o, h, slot.step_y, slot.ch, slot.y0, false)));
        let fits = |t: &Tap, size: u32| {
            t.i0 >= 0 && t.i1 >= 0 && (t.i0 as u32) < size && (t.i1 as u32) < size
        };
        let inside = slot.x0 >= 0
            && slot.x0 as u32 + slot.cw <= e.width
            && s.cols[c0..].iter().all(|t| fits(t, e.width))
            && s.rows[r0..].iter().all(|t| fits(t, e.height));
        s.inside.push(inside);
        let first = s.runs.len();
        for (x, t) in s.cols[c0..].iter().enumerate() {
            s.col_t.push(t.t);
            let j = (t.i0 - slot.x0).max(0) as usize;
            s.col_j.push(j as u32);
            match s.runs[first..].last_mut() {
                Some(r) if r.j + r.len == j => r.len += 1,
                _ => s.runs.push(Run { x, j, len: 1 }),
            }
        }
        s.run_span.push(first..s.runs.len());
    }
    if x.is_some() {
        mask_words(key, g.len().div_ceil(32), &mut s.words);
    }

    let ahead = |c: usize, y: usize| {
        for (si, slot) in slots.iter().enumerate() {
            let e = &pool.entries[slot.image as usize];
            let ty = s.rows[si * h + y];
            prefetch_row(pool, e, slot, c, ty.i0);
            prefetch_row(pool, e, slot, c, ty.i1);
        }
    };
    for c in 0..g.channels {
        for y in 0..PREFETCH_ROWS.min(h) {
            ahead(c, y);
        }
        let offset = folded.offset[c];
        for y in 0..h {
            if y + PREFETCH_ROWS < h {
                ahead(c, y + PREFETCH_ROWS);
            }
            let base = c * h * w + y * w;
            let acc = &mut out[base..base + w];
            acc.fill(offset);
            for (si, slot) in slots.iter().enumerate() {
                let e = &pool.entries[slot.image as usize];
                let ty = s.rows[si * h + y];
                let r0 = source_row(pool, e, c, ty.i0);
                let r1 = source_row(pool, e, c, ty.i1);
                let wi = folded.coef[c][si];
                match (r0, r1) {
                    (Some(r0), Some(r1)) if s.inside[si] => {
                        let x0 = slot.x0 as usize;
                        let cw = slot.cw as usize;
                        s.blended.clear();
                        s.blended.extend(
                            r0[x0..x0 + cw]
                                .iter()
                                .zip(&r1[x0..x0 + cw])
                                .map(|(&a, &b)| lerp(a as f32, b as f32, ty.t)),
                        );
                        s.blended.push(s.blended[cw - 1]);
                        let v = &s.blended[..];
                        let ts = &s.col_t[si * w..(si + 1) * w];
                        let runs = &s.runs[s.run_span[si].clone()];
                        if slot.flip == 0 && runs.len() * 4 <= w {
                            // Unflipped runs go straight into the accumulator.
                            for r in runs {
                                let (x, j, n) = (r.x, r.j, r.len);
                                for (((a, l), rt), t) in acc[x..x + n]
                                    .iter_mut()
                                    .zip(&v[j..j + n])
                                    .zip(&v[j + 1..j + n + 1])
                                    .zip(&ts[x..x + n])
                                {
                                    *a += wi * lerp(*l, *rt, *t);
                                }
                            }
                            continue;
                        }
                        s.sampled.resize(w, 0.0);
                        sample_row(v, ts, &s.col_j[si * w..(si + 1) * w], runs, &mut s.sampled);
                    }
                    // Shifted model-sized images: black padding outside them.
                    _ => {
                        s.sampled.clear();
                        s.sampled
                            .extend(s.cols[si * w..(si + 1) * w].iter().map(|t| {
                                bilerp(
                                    at(r0, t.i0),
                                    at(r0, t.i1),
                                    at(r1, t.i0),
                                    at(r1, t.i1),
                                    t.t,
                                    ty.t,
                                )
                            }));
                    }
                }
                let term = |p: &f32| wi * p;
                if slot.flip != 0 {
                    acc.iter_mut()
                        .zip(s.sampled.iter().rev())
                        .for_each(|(a, p)| *a += term(p));
                } else {
                    acc.iter_mut()
                        .zip(&s.sampled)
                        .for_each(|(a, p)| *a += term(p));
                }
            }
            // The frame last (`Folded`).
            if let Some(x) = x {
                let acc = &mut out[base..base + w];
                for (a, v) in acc.iter_mut().zip(&x[base..base + w]) {
                    *a += weights[0] * v;
                }
            }
        }
    }
    if x.is_some() {
        apply_mask(out, &s.words);
    }
}

/// Fills `words` with the key's first `n` mask words, the stream's u32 words
/// in order, in one bulk keystream call (a call per word costs more than
/// the keystream itself).
pub(crate) fn mask_words(key: &OneTimeKey, n: usize, words: &mut Vec<u32>) {
    words.clear();
    words.resize(n, 0);
    key.mask_stream()
        .fill_bytes(bytemuck::cast_slice_mut(words.as_mut_slice()));
    // `fill_bytes` writes each word little-endian.
    words.iter_mut().for_each(|w| *w = u32::from_le(*w));
}

/// Which fast-path kernel runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kernel {
    /// The widest this CPU has: AVX-512 where present and the key's crops
    /// fit its windows, else the portable path.
    Auto,
    /// The portable path (plain x86-64 or AVX2, chosen at run time; any
    /// other architecture), for tests and comparisons.
    #[cfg_attr(not(feature = "hazmat"), allow(dead_code))]
    Portable,
}

/// The fast path: the reference's values, bit for bit, into `out`. With
/// no frame, only the pad (`Folded`), unmasked: a prepared key's half.
pub(crate) fn encrypt_fast(
    ctx: &FrameCtx,
    x: Option<&[f32]>,
    out: &mut [f32],
    s: &mut Scratch,
    kernel: Kernel,
) {
    #[cfg(target_arch = "x86_64")]
    let done = kernel == Kernel::Auto && avx512::available() && avx512::encrypt(ctx, x, out, s);
    #[cfg(not(target_arch = "x86_64"))]
    let done = {
        let _ = kernel;
        false
    };
    if !done {
        encrypt_portable(ctx, x, out, s);
    }
    s.wipe();
}
