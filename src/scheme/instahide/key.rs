//! One-time keys: everything secret about one encryption.
//!
//! A key holds the k mixing coefficients, for each public slot the source
//! image and its transform, and a 256-bit seed that ChaCha20 expands into one
//! sign bit per element. It is drawn from a fresh OS-seeded ChaCha20 stream,
//! consumed by the encryption (no `Clone`, no `Copy`, no `Serialize`), its
//! `Debug` is redacted, and its memory is zeroed on drop.

use rand::RngExt;
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::crops::{SlotMode, crop_size, slot_mode, zoom_range};
use super::layout::PreparedPool;
use crate::error::{Error, Result};
use crate::params::{MAX_K, Params};
use crate::spec::Geometry;

/// Coefficient vectors drawn before giving up on too-tight bounds. The
/// reference code redraws without limit; a bound turns a hang into an error.
const MAX_COEFFICIENT_DRAWS: u32 = 100_000;

/// One public slot: which source image and how it is cut. `x0, y0` is the
/// crop's top-left corner in source pixels (negative for a shifted
/// model-sized image), `cw x ch` its size, `step_*` = crop side / model side.
/// The layout is the GPU's (`shaders/instahide_mix.wgsl`, `struct Slot`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Zeroize, bytemuck::Pod, bytemuck::Zeroable)]
#[allow(missing_docs)] // hazmat: the fields are described above
pub struct Slot {
    pub image: u32,
    pub x0: i32,
    pub y0: i32,
    pub cw: u32,
    pub ch: u32,
    pub flip: u32,
    pub step_x: f32,
    pub step_y: f32,
}

/// What a key was drawn for; not secret, checked before use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Binding {
    pub pool: [u8; 32],
    pub geometry: Geometry,
    pub k: usize,
}

impl Binding {
    /// Whether a key bound to `self` may encrypt for an encryptor bound to
    /// `expected`.
    pub(crate) fn check(&self, expected: &Binding) -> Result<()> {
        if self.pool != expected.pool {
            return Err(Error::KeyMismatch("drawn for another public pool"));
        }
        if self.geometry != expected.geometry {
            return Err(Error::KeyMismatch("drawn for another model geometry"));
        }
        if self.k != expected.k {
            return Err(Error::KeyMismatch("drawn for another k"));
        }
        Ok(())
    }
}

/// The secret of one encryption. Use it once: encrypting consumes it.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct OneTimeKey {
    weights: [f32; MAX_K],
    slots: [Slot; MAX_K - 1],
    mask_seed: [u8; 32],
    #[zeroize(skip)]
    binding: Binding,
}

impl std::fmt::Debug for OneTimeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OneTimeKey { <redacted> }")
    }
}

impl OneTimeKey {
    /// Draws a key from a fresh OS-seeded ChaCha20 stream.
    pub(crate) fn generate(params: &Params, pool: &PreparedPool) -> Result<OneTimeKey> {
        let mut rng = crate::rng::os_seeded()?;
        OneTimeKey::draw(&mut rng, params, pool)
    }

    pub(crate) fn draw(
        rng: &mut ChaCha20Rng,
        params: &Params,
        pool: &PreparedPool,
    ) -> Result<OneTimeKey> {
        let k = params.k();
        let mut key = OneTimeKey {
            weights: [0.0; MAX_K],
            slots: [Slot::default(); MAX_K - 1],
            mask_seed: [0; 32],
            binding: Binding {
                pool: pool.fingerprint,
                geometry: pool.geometry,
                k,
            },
        };
        draw_coefficients(rng, params, &mut key.weights[..k])?;
        for slot in &mut key.slots[..k - 1] {
            *slot = draw_slot(rng, params, pool);
        }
        rng.fill_bytes(&mut key.mask_seed);
        Ok(key)
    }

    /// The k coefficients; index 0 weighs the private frame.
    pub(crate) fn weights(&self) -> &[f32] {
        &self.weights[..self.binding.k]
    }
    /// All coefficient slots, zero past k (the GPU's fixed layout).
    #[cfg_attr(not(feature = "gpu"), allow(dead_code))]
    pub(crate) fn weights_padded(&self) -> &[f32; MAX_K] {
        &self.weights
    }
    /// The k-1 public slots.
    pub(crate) fn slots(&self) -> &[Slot] {
        &self.slots[..self.binding.k - 1]
    }
    #[cfg_attr(not(feature = "gpu"), allow(dead_code))]
    pub(crate) fn slots_padded(&self) -> &[Slot; MAX_K - 1] {
        &self.slots
    }
    /// The sign-mask stream: word j's bit b covers element 32*j + b, and a set
    /// bit flips the sign.
    pub(crate) fn mask_stream(&self) -> ChaCha20Rng {
        ChaCha20Rng::from_seed(self.mask_seed)
    }

    /// Checks that the key fits an encryptor's pool, geometry and k.
    pub(crate) fn check(&self, binding: &Binding) -> Result<()> {
        self.binding.check(binding)
    }

    pub(crate) fn binding(&self) -> Binding {
        self.binding
    }

    /// The seed of the sign mask (hazmat views only).
    #[cfg(feature = "hazmat")]
    pub(crate) fn mask_seed(&self) -> &[u8; 32] {
        &self.mask_seed
    }
}

/// `k` values of |N(0,1)|, normalised to sum 1, redrawn (as a whole, like the
/// reference) while the largest exceeds `upper` or the private weight falls
/// outside its bounds. k = 1 gives [1].
fn draw_coefficients(rng: &mut ChaCha20Rng, params: &Params, out: &mut [f32]) -> Result<()> {
    let k = out.len();
    if k == 1 {
        out[0] = 1.0;
        return Ok(());
    }
    let mut v = [0f64; MAX_K];
    for _ in 0..MAX_COEFFICIENT_DRAWS {
        for x in &mut v[..k] {
            let n: f64 = StandardNormal.sample(rng);
            *x = n.abs();
        }
        let sum: f64 = v[..k].iter().sum();
        if sum <= 0.0 {
            continue;
        }
        let max = v[..k].iter().fold(0f64, |a, &b| a.max(b)) / sum;
        let private = v[0] / sum;
        let ok = max <= params.upper()
            && params.min_private_weight().is_none_or(|lo| private >= lo)
            && params.max_private_weight().is_none_or(|hi| private <= hi);
        if ok {
            for (o, x) in out.iter_mut().zip(&v[..k]) {
                *o = (x / sum) as f32;
            }
            v.zeroize();
            return Ok(());
        }
    }
    v.zeroize();
    Err(Error::CoefficientsUnsatisfiable(MAX_COEFFICIENT_DRAWS))
}

/// A public slot: a source image uniform over the corpus, then its
/// transform.
pub fn draw_slot(rng: &mut ChaCha20Rng, params: &Params, pool: &PreparedPool) -> Slot {
    let g = pool.geometry;
    let image = rng.random_range(0..pool.entries.len() as u32);
    let e = pool.entries[image as usize];
    let flip = params.flip() && rng.random::<bool>();
    match slot_mode(e.width, e.height, g) {
        SlotMode::Shift => {
            let s = params.max_shift() as i32;
            Slot {
                image,
                x0: rng.random_range(-s..=s),
                y0: rng.random_range(-s..=s),
                cw: g.width as u32,
                ch: g.height as u32,
                flip: flip as u32,
                step_x: 1.0,
                step_y: 1.0,
            }
        }
        SlotMode::Crop => {
            let (lo, hi) = zoom_range(e.width, e.height, g, params);
            let z = if hi > lo {
                let u: f64 = rng.random();
                (lo.ln() + u * (hi.ln() - lo.ln())).exp()
            } else {
                lo
            };
            let (cw, ch) = crop_size(z, e.width, e.height, g);
            Slot {
                image,
                x0: rng.random_range(0..=(e.width - cw)) as i32,
                y0: rng.random_range(0..=(e.height - ch)) as i32,
                cw,
                ch,
                flip: flip as u32,
                step_x: (cw as f64 / g.width as f64) as f32,
                step_y: (ch as f64 / g.height as f64) as f32,
            }
        }
    }
}
