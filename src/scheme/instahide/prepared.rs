//! An encryption in two halves: everything the key decides, computed ahead
//! of the frame, and one short pass over the frame when it arrives.
//!
//! Why: in a client the frame's encryption sits on the request path, where
//! it runs with cold caches (a request and a model run pass between two
//! frames) and costs several times its warm figure (benches/RESULTS.md). A
//! camera has idle time between frames; drawing the key, mixing its crops
//! into the pad and expanding its mask there leaves the request path one
//! multiply, one add and a sign flip per element. The values are the
//! reference's, bit for bit: the frame enters the mix last (`Folded`).

use zeroize::Zeroize;

use super::FrameCtx;
use super::cpu;
use super::key::Binding;

/// A one-time key with its frame-independent work done: the frame's
/// coefficient, the pad (the public images' weighted sum) and the sign mask. As secret as
/// the key it came from: no `Clone`, no serialisation, a redacted `Debug`,
/// zeroed on drop, and consumed by the encryption that uses it.
pub struct PreparedKey {
    binding: Binding,
    w0: f32,
    pad: Vec<f32>,
    words: Vec<u32>,
}

impl std::fmt::Debug for PreparedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PreparedKey { <redacted> }")
    }
}

impl Drop for PreparedKey {
    fn drop(&mut self) {
        self.w0.zeroize();
        self.pad.zeroize();
        self.words.zeroize();
    }
}

impl PreparedKey {
    /// Does the key's half of the work on the CPU fast path (its pad mode:
    /// no frame, no mask). The key is dropped (zeroed) here.
    pub(crate) fn new(ctx: &FrameCtx, kernel: cpu::Kernel) -> PreparedKey {
        let (key, len) = (ctx.key, ctx.pool.geometry.len());
        let mut pad = vec![0f32; len];
        cpu::with_scratch(|s| cpu::encrypt_fast(ctx, None, &mut pad, s, kernel));
        let mut words = Vec::new();
        cpu::mask_words(key, len.div_ceil(32), &mut words);
        PreparedKey {
            binding: key.binding(),
            w0: key.weights()[0],
            pad,
            words,
        }
    }

    pub(crate) fn binding(&self) -> &Binding {
        &self.binding
    }

    /// The frame's half: `out = sign * (w0 x + pad)`. `x` and `out` have
    /// the bound geometry's length (checked by the caller).
    pub(crate) fn apply(self, x: &[f32], out: &mut [f32]) {
        for ((o, v), p) in out.iter_mut().zip(x).zip(&self.pad) {
            *o = self.w0 * v + p;
        }
        cpu::apply_mask(out, &self.words);
    }
}
