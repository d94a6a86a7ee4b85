//! An encryption in two halves: everything the key decides, computed ahead
//! of the frame, and one short pass over the frame when it arrives.
//!
//! Why: in a client the frame's encryption sits on the request path, where
//! it runs with cold caches (a request and a model run pass between two
//! frames) and costs several times its warm figure (benches/RESULTS.md). A
//! camera has idle time between frames; drawing the key, resampling its
//! crops and expanding its mask there leaves the request path one multiply,
//! a few adds and a sign flip per element. The values are the reference's,
//! bit for bit: the frame pass adds the same terms in the same order.

use zeroize::Zeroize;

use super::cpu::{self, Folded};
use crate::key::{Binding, OneTimeKey};
use crate::pool::PreparedPool;
use crate::spec::Affine;

/// A one-time key with its frame-independent work done: the mixing
/// coefficients, the k-1 resampled crops and the sign mask. As secret as
/// the key it came from: no `Clone`, no serialisation, a redacted `Debug`,
/// zeroed on drop, and consumed by the encryption that uses it.
pub struct PreparedKey {
    binding: Binding,
    w0: f32,
    folded: Folded,
    /// The crops in raw 0..255 values, slot after slot, one frame's length each.
    public: Vec<f32>,
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
        self.public.zeroize();
        self.words.zeroize();
    }
}

impl PreparedKey {
    /// Does the key's half of the work. The key is dropped (zeroed) here.
    pub(crate) fn new(key: OneTimeKey, pool: &PreparedPool, affine: &Affine) -> PreparedKey {
        let len = pool.geometry.len();
        let mut public = Vec::with_capacity(len * key.slots().len());
        for slot in key.slots() {
            let mut crop = cpu::resampled_crop(pool, slot);
            public.extend_from_slice(&crop);
            crop.zeroize();
        }
        let mut words = Vec::new();
        cpu::mask_words(&key, len.div_ceil(32), &mut words);
        PreparedKey {
            binding: key.binding(),
            w0: key.weights()[0],
            folded: Folded::new(key.weights(), affine),
            public,
            words,
        }
    }

    pub(crate) fn binding(&self) -> &Binding {
        &self.binding
    }

    /// The frame's half: `out = sign * ((w0 x + offset) + sum_i coef_i v_i)`,
    /// the reference's operations in its order. `x` and `out` have the
    /// bound geometry's length (checked by the caller).
    pub(crate) fn apply(self, x: &[f32], out: &mut [f32]) {
        let g = self.binding.geometry;
        let plane = g.height * g.width;
        for (c, (xc, oc)) in x
            .chunks_exact(plane)
            .zip(out.chunks_exact_mut(plane))
            .enumerate()
        {
            let offset = self.folded.offset[c];
            for (o, v) in oc.iter_mut().zip(xc) {
                *o = self.w0 * v + offset;
            }
            for (i, crop) in self.public.chunks_exact(g.len()).enumerate() {
                let coef = self.folded.coef[c][i];
                for (o, v) in oc.iter_mut().zip(&crop[c * plane..(c + 1) * plane]) {
                    *o += coef * v;
                }
            }
        }
        cpu::apply_mask(out, &self.words);
    }
}
