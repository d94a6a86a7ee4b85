//! The CPU fast path for x86-64 with AVX-512 permutes (VBMI: Intel Ice
//! Lake and later, AMD Zen 4 and later). One pass per output row, sixteen
//! outputs at a time, with the frame term, each slot's bilinear sample, the
//! mask and one store per run of sixteen, in registers.
//!
//! Why permutes: a key's horizontal taps are the same for every row of its
//! crop, so the source columns one run of sixteen outputs reads lie in a
//! short window, and a permute with indices computed once per frame picks
//! them; no gather, no per-element index arithmetic. Two ways, per slot:
//!
//! - Crops under about 1.9x the model's side (all crops of a 224x224 model
//!   from the bundled photos): the two source rows are blended once per
//!   output row over the columns the slot reads, as floats, and each run
//!   picks its left and right values from 32 of them with two float permutes.
//!   The blended rows start on a 64-byte boundary and a run's 32 floats are
//!   two whole blocks of sixteen wherever its columns fit, so that its loads
//!   do not split cache lines (that cost more than the permutes).
//! - Wider crops (up to about 8.3x): blending every column would waste most
//!   of the work, so each run picks its four texels straight from the bytes
//!   of a 128-byte window of each source row with byte permutes that leave
//!   each texel zero-extended in a 32-bit lane.
//!
//! Masked loads read only bytes inside the image, so a shifted model-sized
//! image's black padding comes out as zeros, as in the reference. Crops
//! wider than the windows go to the portable path. The arithmetic is the
//! reference's, operation for operation (no fused multiply-add), so the
//! output is bit-identical (tests/kat.rs holds every branch to it).

use std::arch::x86_64::*;

use super::super::FrameCtx;
use super::super::key::OneTimeKey;
use super::super::layout::PreparedPool;
use super::{PREFETCH_ROWS, Scratch, prefetch_row, tap};

const LANES: usize = 16;
/// Source columns one run of sixteen outputs may span: two 64-byte loads,
/// less the last byte, which is never loaded and so always zero.
const WINDOW: i32 = 127;
/// The window byte that is always zero: the permute fills the upper three
/// bytes of each 32-bit lane from it, so each lane reads as a zero-extended
/// texel with no masking step.
const ZERO_BYTE: u8 = 127;

/// Whether this CPU runs the kernel (checked once; std caches the answer).
pub(super) fn available() -> bool {
    is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512bw")
        && is_x86_feature_detected!("avx512vl")
        && is_x86_feature_detected!("avx512vbmi")
}

/// One slot's taps for one run of sixteen outputs. Derived from the key:
/// wiped with the rest of the scratch after each frame.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
pub(super) struct ChunkTaps {
    /// Permute indices; byte 4l is output l's, the other bytes point at
    /// the zero byte. Wide runs (up to 127 columns): one two-register
    /// table per source row, `idx[0]` / `idx[1]` the left / right column.
    /// Narrow runs (up to 63 columns, crops under about 4x the model's
    /// side): one table holds both rows' windows, `idx[0..4]` are the
    /// top-left, top-right, bottom-left and bottom-right texels; half the
    /// loads.
    idx: [[u8; 64]; 4],
    /// The outputs' horizontal weights (zero past the row's end).
    tx: [f32; LANES],
    /// Source column of the window's first byte (negative for a shifted image).
    base: i32,
    narrow: bool,
    /// Which bytes to load: inside the source row, and never the zero byte.
    /// Wide: the window's two halves; narrow: the top and bottom row.
    load: [u64; 2],
}

impl Default for ChunkTaps {
    fn default() -> Self {
        ChunkTaps {
            idx: [[ZERO_BYTE; 64]; 4],
            tx: [0.0; LANES],
            base: 0,
            narrow: false,
            load: [0; 2],
        }
    }
}

pub(super) fn wipe(chunks: &mut Vec<ChunkTaps>, plans: &mut Vec<SlotPlan>) {
    chunks.fill(ChunkTaps::default());
    chunks.clear();
    plans.fill(SlotPlan::default());
    plans.clear();
}

/// Bits `lo..hi` of a u64 (empty when `hi <= lo`).
fn bit_range(lo: i32, hi: i32) -> u64 {
    let (lo, hi) = (lo.clamp(0, 64), hi.clamp(0, 64));
    if hi <= lo {
        return 0;
    }
    let ones = if hi - lo == 64 {
        u64::MAX
    } else {
        (1u64 << (hi - lo)) - 1
    };
    ones << lo
}

/// Floats one run of sixteen outputs may span in a slot's blended row:
/// two registers for a float permute.
const FLOAT_WINDOW: i32 = 32;

/// How one slot is sampled this frame.
#[derive(Clone, Copy, Default)]
pub(super) struct SlotPlan {
    /// Crops under about 1.9x the model's side: each output row first blends
    /// the two source rows over the columns the slot reads, as floats
    /// (`lo..lo + len`), and each run picks its texels from that row with
    /// two float permutes. Otherwise texels are picked from the bytes.
    float: bool,
    lo: i32,
    len: usize,
    /// Blocks of sixteen blended floats that lie inside the image's width
    /// (plain loads, no mask).
    inside: (usize, usize),
}

/// Fills the per-frame taps. False when some run of sixteen outputs spans
/// more source columns than one window holds (crops wider than about 8.3x
/// the model's side); the caller then takes the portable path.
fn plan(key: &OneTimeKey, pool: &PreparedPool, s: &mut Scratch) -> bool {
    let g = pool.geometry;
    let (h, w) = (g.height, g.width);
    s.rows.clear();
    s.cols.clear();
    wipe(&mut s.chunks, &mut s.plans);
    for slot in key.slots() {
        let e = &pool.entries[slot.image as usize];
        s.rows
            .extend((0..h).map(|o| tap(o, h, slot.step_y, slot.ch, slot.y0, false)));
        let c0 = s.cols.len();
        s.cols
            .extend((0..w).map(|o| tap(o, w, slot.step_x, slot.cw, slot.x0, slot.flip != 0)));
        let cols = &s.cols[c0..];
        let taps_of = |x0: usize| {
            let taps = &cols[x0..(x0 + LANES).min(w)];
            let base = taps.iter().map(|t| t.i0).min().unwrap_or(0);
            let top = taps.iter().map(|t| t.i1).max().unwrap_or(0);
            (taps, base, top)
        };
        // Columns the slot reads: lo..hi.
        let (mut lo, mut hi, mut span) = (i32::MAX, i32::MIN, 0);
        for x0 in (0..w).step_by(LANES) {
            let (_, base, top) = taps_of(x0);
            lo = lo.min(base);
            hi = hi.max(top + 1);
            span = span.max(top - base);
        }
        if span >= WINDOW {
            return false;
        }
        let float = span < FLOAT_WINDOW;
        let len = ((hi - lo).max(FLOAT_WINDOW) as usize).next_multiple_of(LANES);
        // A run's float table: the two whole blocks of the blended row that
        // hold its columns when they fit (64-byte aligned, so neither load
        // splits a cache line), else from its first column, or earlier near
        // the row's end, so that it stays inside the row.
        let table = |base: i32, top: i32| {
            let block = lo + (base - lo) / LANES as i32 * LANES as i32;
            if top < block + FLOAT_WINDOW && block - lo + FLOAT_WINDOW <= len as i32 {
                block
            } else {
                base.min(hi - FLOAT_WINDOW).max(lo)
            }
        };
        // Block b covers columns lo + 16b .. lo + 16b + 16.
        let inside = {
            let first = ((-lo).max(0) as usize).div_ceil(LANES);
            let end = ((e.width as i32 - lo).max(0) as usize / LANES).min(len / LANES);
            (first.min(end), end)
        };
        s.plans.push(SlotPlan {
            float,
            lo,
            len,
            inside,
        });
        for x0 in (0..w).step_by(LANES) {
            let (taps, base, top) = taps_of(x0);
            let mut c = ChunkTaps::default();
            if float {
                // idx[0] / idx[1] as sixteen u32: the left / right texel's
                // place in the table loaded from blended-row float `base`.
                let start = table(base, top);
                c.base = start - lo;
                for (l, t) in taps.iter().enumerate() {
                    let at = 4 * l..4 * l + 4;
                    c.idx[0][at.clone()].copy_from_slice(&((t.i0 - start) as u32).to_le_bytes());
                    c.idx[1][at].copy_from_slice(&((t.i1 - start) as u32).to_le_bytes());
                }
            } else {
                let narrow = top - base < 63;
                c.base = base;
                c.narrow = narrow;
                // Table byte 64 starts the second register: the bottom row's
                // window (narrow) or the second half of the window (wide).
                let bottom = if narrow { 64 } else { 0 };
                for (l, t) in taps.iter().enumerate() {
                    let (j0, j1) = ((t.i0 - base) as u8, (t.i1 - base) as u8);
                    c.idx[0][4 * l] = j0;
                    c.idx[1][4 * l] = j1;
                    c.idx[2][4 * l] = j0 + bottom;
                    c.idx[3][4 * l] = j1 + bottom;
                }
                // Window byte b is source column base + b: inside for 0 <= col < width.
                let (lo, hi) = (-base, e.width as i32 - base);
                let first = bit_range(lo, hi);
                c.load = if narrow {
                    [first, first & !(1 << 63)]
                } else {
                    [first, bit_range(lo - 64, (hi - 64).min(63))]
                };
            }
            for (l, t) in taps.iter().enumerate() {
                c.tx[l] = t.t;
            }
            s.chunks.push(c);
        }
    }
    let stride = s.plans.iter().map(|p| p.len).max().unwrap_or(0);
    s.vrows.clear();
    // Room to start the rows on a 64-byte boundary (`encrypt`).
    s.vrows.resize(stride * s.plans.len() + LANES - 1, 0.0);
    true
}

/// Encrypts one frame; false (and `out` untouched) when the key's crops do
/// not fit the kernel's windows.
pub(super) fn encrypt(ctx: &FrameCtx, x: Option<&[f32]>, out: &mut [f32], s: &mut Scratch) -> bool {
    let FrameCtx { key, pool, .. } = *ctx;
    if !plan(key, pool, s) {
        return false;
    }
    let g = pool.geometry;
    // One spare word: each run reads the 64 mask bits from its first element on.
    if x.is_some() {
        super::mask_words(key, g.len().div_ceil(32) + 1, &mut s.words);
    }
    // SAFETY (each arm): `available()` was checked by the caller (the
    // only one, `encrypt_fast`), so the CPU has the features `run` is
    // compiled for.
    // One copy per slot count, so the slot loop unrolls and each slot's
    // row pointers and weight stay in registers.
    let mut rows = std::mem::take(&mut s.vrows);
    let a = rows.as_ptr().align_offset(64).min(LANES - 1);
    let n = rows.len() - (LANES - 1);
    let v = &mut rows[a..a + n];
    unsafe {
        match key.slots().len() {
            0 => run::<0>(ctx, x, out, s, v),
            1 => run::<1>(ctx, x, out, s, v),
            2 => run::<2>(ctx, x, out, s, v),
            3 => run::<3>(ctx, x, out, s, v),
            4 => run::<4>(ctx, x, out, s, v),
            5 => run::<5>(ctx, x, out, s, v),
            6 => run::<6>(ctx, x, out, s, v),
            _ => run::<7>(ctx, x, out, s, v),
        }
    }
    s.vrows = rows;
    true
}

#[inline(always)]
fn lerp(a: __m512, b: __m512, t: __m512) -> __m512 {
    // a + t (b - a): the reference's formula and order, no fused multiply-add.
    // SAFETY: pure arithmetic on registers; the features are enabled in `run`.
    unsafe { _mm512_add_ps(a, _mm512_mul_ps(t, _mm512_sub_ps(b, a))) }
}

/// One slot's source rows for the current output row: start pointers and
/// a load mask that is all ones, or zero for a row outside the image.
#[derive(Clone, Copy)]
struct Rows {
    r0: Option<*const u8>,
    r1: Option<*const u8>,
    ty: __m512,
}

#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vbmi")]
unsafe fn run<const S: usize>(
    ctx: &FrameCtx,
    x: Option<&[f32]>,
    out: &mut [f32],
    s: &Scratch,
    v: &mut [f32],
) {
    let FrameCtx { key, pool, affine } = *ctx;
    let g = pool.geometry;
    let (h, w) = (g.height, g.width);
    let nq = w.div_ceil(LANES);
    let weights = key.weights();
    let slots = key.slots();
    assert!(slots.len() == S && weights.len() == S + 1);
    assert!(x.is_none_or(|x| x.len() == g.len()) && out.len() == g.len());
    assert!(s.chunks.len() == S * nq);
    assert!(s.rows.len() == S * h && (x.is_none() || s.words.len() > g.len().div_ceil(32)));
    assert!(s.plans.len() == S && v.len().is_multiple_of(S.max(1)));
    let stride = v.len() / S.max(1);
    for (p, c) in s.plans.iter().zip(s.chunks.chunks(nq)) {
        // Every float table (32 values from `base`) lies inside the slot's row.
        assert!(p.len <= stride && c.iter().all(|c| !p.float || c.base as usize + 32 <= p.len));
    }
    let w0 = _mm512_set1_ps(weights[0]);
    let folded = super::Folded::new(weights, affine);
    let sign = _mm512_set1_epi32(i32::MIN);
    let zero = _mm512_setzero_si512();

    // Requests the source rows of output row y from memory. Source rows
    // only move down the crop as y grows, and neighbouring output rows share
    // them (crops near the model's size), so each is requested once.
    let ahead = |c: usize, y: usize, fetched: &mut [i32; S]| {
        for (si, slot) in slots.iter().enumerate() {
            let e = &pool.entries[slot.image as usize];
            let ty = s.rows[si * h + y];
            for r in [ty.i0, ty.i1] {
                if r > fetched[si] {
                    prefetch_row(pool, e, slot, c, r);
                    fetched[si] = r;
                }
            }
        }
    };
    // Start of source row `y` of slot `si`'s image, channel `c`; None outside.
    let row = |si: usize, c: usize, y: i32| -> Option<*const u8> {
        let e = &pool.entries[slots[si].image as usize];
        super::source_row(pool, e, c, y).map(<[u8]>::as_ptr)
    };
    // 64 bytes of a row from window byte `from` on, zeros for a row outside
    // the image.
    // SAFETY: only bytes whose mask bit is set are read, and `plan` sets
    // exactly those inside the row; masked-off bytes are never accessed
    // (AVX-512 masked loads suppress faults), so the address of a window
    // that starts left of the row is not dereferenced.
    let load = |p: Option<*const u8>, from: isize, mask: u64| -> __m512i {
        match p {
            Some(p) => unsafe {
                _mm512_maskz_loadu_epi8(mask, p.wrapping_offset(from) as *const i8)
            },
            None => zero,
        }
    };

    let rows_at = |c: usize, y: usize| -> [Rows; S] {
        std::array::from_fn(|si| {
            let ty = s.rows[si * h + y];
            Rows {
                r0: row(si, c, ty.i0),
                r1: row(si, c, ty.i1),
                ty: _mm512_set1_ps(ty.t),
            }
        })
    };
    // Float slots: blend each slot's two source rows over the columns it reads.
    let fill = |rows: &[Rows; S], v: &mut [f32]| {
        for (si, (r, p)) in rows.iter().zip(&s.plans).enumerate() {
            if !p.float {
                continue;
            }
            let e = &pool.entries[slots[si].image as usize];
            let dst = &mut v[si * stride..si * stride + p.len];
            let (first, end) = match (r.r0, r.r1) {
                (Some(_), Some(_)) => p.inside,
                _ => (0, 0),
            };
            let blocks = dst.len() / LANES;
            // Blocks partly or wholly outside the image's width, and every
            // block of a row with a source row above or below the image:
            // what lies inside the image read, black (zero) outside it.
            for b in (0..first).chain(end..blocks) {
                let col = p.lo + (b * LANES) as i32;
                let m = bit_range(-col, e.width as i32 - col) as __mmask16;
                let bytes = |p: Option<*const u8>| match p {
                    // SAFETY: only the bytes inside the row are read (the
                    // masked-off ones are not accessed).
                    Some(p) => unsafe {
                        _mm_maskz_loadu_epi8(m, p.wrapping_offset(col as isize) as *const i8)
                    },
                    None => _mm_setzero_si128(),
                };
                let f = |p| _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(bytes(p)));
                // SAFETY: block b holds LANES floats (b < blocks).
                unsafe {
                    _mm512_storeu_ps(
                        dst.as_mut_ptr().add(b * LANES),
                        lerp(f(r.r0), f(r.r1), r.ty),
                    )
                };
            }
            if let (Some(r0), Some(r1)) = (r.r0, r.r1) {
                // The usual case, in a loop of its own: blocks inside both
                // rows, plain loads, no mask to build.
                // SAFETY: for b in first..end, columns lo + 16b .. + 16 lie
                // inside the rows (`inside`), and block b inside `dst`.
                unsafe {
                    let f = |p: *const u8, col: usize| {
                        let bytes = _mm_loadu_si128(p.add(col) as *const __m128i);
                        _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(bytes))
                    };
                    let d = dst.as_mut_ptr();
                    for b in first..end {
                        let col = (p.lo + (b * LANES) as i32) as usize;
                        _mm512_storeu_ps(d.add(b * LANES), lerp(f(r0, col), f(r1, col), r.ty));
                    }
                }
            }
        }
    };
    for c in 0..g.channels {
        let mut fetched = [i32::MIN; S];
        for y in 0..PREFETCH_ROWS.min(h) {
            ahead(c, y, &mut fetched);
        }
        let offset = _mm512_set1_ps(folded.offset[c]);
        let coef: [__m512; S] = std::array::from_fn(|i| _mm512_set1_ps(folded.coef[c][i]));
        for y in 0..h {
            if y + PREFETCH_ROWS < h {
                ahead(c, y + PREFETCH_ROWS, &mut fetched);
            }
            let rows = rows_at(c, y);
            fill(&rows, v);
            let v = &*v;
            let line = c * h * w + y * w;
            // Output lanes of run q and its first element.
            let start = |q: usize| {
                let x0 = q * LANES;
                let n = LANES.min(w - x0);
                let lanes: __mmask16 = if n == LANES { !0 } else { (1 << n) - 1 };
                (line + x0, lanes)
            };
            // The frame term, added last (`Folded`); none for a pad.
            let frame = |at: usize, lanes: __mmask16, pad: __m512| match x {
                Some(x) => {
                    // SAFETY: lanes cover at..at + n, inside `x` (asserted length).
                    let xv = unsafe { _mm512_maskz_loadu_ps(lanes, x.as_ptr().add(at)) };
                    _mm512_add_ps(_mm512_mul_ps(w0, xv), pad)
                }
                None => pad,
            };
            // Slot si's weighted public value for run q.
            let term = |si: usize, r: &Rows, q: usize| {
                let ct = &s.chunks[si * nq + q];
                // SAFETY: the index arrays are 64 bytes, 64-byte aligned.
                let idx =
                    |n: usize| unsafe { _mm512_load_si512(ct.idx[n].as_ptr() as *const __m512i) };
                let texel = |a, n, b| _mm512_cvtepi32_ps(_mm512_permutex2var_epi8(a, idx(n), b));
                let base = ct.base as isize;
                // SAFETY: `tx` holds LANES floats, 64-byte aligned.
                let t = unsafe { _mm512_load_ps(ct.tx.as_ptr()) };
                if s.plans[si].float {
                    // SAFETY: the table lies inside the slot's row (asserted).
                    let (t0, t1) = unsafe {
                        let p = v.as_ptr().add(si * stride + ct.base as usize);
                        (_mm512_loadu_ps(p), _mm512_loadu_ps(p.add(LANES)))
                    };
                    let left = _mm512_permutex2var_ps(t0, idx(0), t1);
                    let right = _mm512_permutex2var_ps(t0, idx(1), t1);
                    return _mm512_mul_ps(coef[si], lerp(left, right, t));
                }
                let [p00, p01, p10, p11] = if ct.narrow {
                    let a = load(r.r0, base, ct.load[0]);
                    let b = load(r.r1, base, ct.load[1]);
                    [
                        texel(a, 0, b),
                        texel(a, 1, b),
                        texel(a, 2, b),
                        texel(a, 3, b),
                    ]
                } else {
                    let (a0, b0) = (
                        load(r.r0, base, ct.load[0]),
                        load(r.r0, base + 64, ct.load[1]),
                    );
                    let (a1, b1) = (
                        load(r.r1, base, ct.load[0]),
                        load(r.r1, base + 64, ct.load[1]),
                    );
                    [
                        texel(a0, 0, b0),
                        texel(a0, 1, b0),
                        texel(a1, 0, b1),
                        texel(a1, 1, b1),
                    ]
                };
                let left = lerp(p00, p10, r.ty);
                let right = lerp(p01, p11, r.ty);
                _mm512_mul_ps(coef[si], lerp(left, right, t))
            };
            // Applies the mask (not to a pad) and stores run q.
            let finish = |out: &mut [f32], at: usize, lanes: __mmask16, acc: __m512| {
                // Element m's sign bit is bit m % 32 of word m / 32.
                let word = at / 32;
                let bits = match x {
                    Some(_) => {
                        (s.words[word] as u64 | (s.words[word + 1] as u64) << 32) >> (at % 32)
                    }
                    None => 0,
                };
                let acc = _mm512_castps_si512(acc);
                let v = _mm512_mask_xor_epi32(acc, bits as u16, acc, sign);
                // SAFETY: lanes cover at..at + n, inside `out` (asserted length).
                unsafe {
                    _mm512_mask_storeu_ps(out.as_mut_ptr().add(at), lanes, _mm512_castsi512_ps(v))
                };
            };
            for q in 0..nq {
                let (at, lanes) = start(q);
                let mut a = offset;
                for (si, r) in rows.iter().enumerate() {
                    a = _mm512_add_ps(a, term(si, r, q));
                }
                finish(out, at, lanes, frame(at, lanes, a));
            }
        }
    }
}
