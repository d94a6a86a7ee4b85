//! Hazardous material: deterministic keys, a look inside keys, the reference
//! encryptor, the forced portable kernel, and the scheme internals the attack
//! lab reads (slots, crop geometry, the corpus layout, crop rendering).
//!
//! Compiled only with the `hazmat` feature, which the tests and the attack
//! lab enable and no product build does (`edgehide info` reports it). Nothing
//! here is needed to encrypt a frame; everything here can defeat the scheme
//! if it reaches a device.

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use crate::encrypt::check_out;
use crate::error::Result;
use crate::frame::{FrameRef, PlainTensor, Preprocessor};
use crate::scheme::instahide::cpu::Kernel;
pub use crate::scheme::instahide::cpu::{Tap, public_image, tap};
pub use crate::scheme::instahide::crops::{SlotMode, crop_size, slot_mode, zoom_range};
pub use crate::scheme::instahide::key::{Slot, draw_slot};
pub use crate::scheme::instahide::layout::{Entry, PreparedPool};
pub use crate::spec::Affine;
use crate::{Encryption, Encryptor, ModelSpec, OneTimeKey, PreparedKey};

/// A ChaCha20 generator seeded from the OS, as keys are drawn.
pub fn os_rng() -> Result<ChaCha20Rng> {
    crate::rng::os_seeded()
}

/// Preprocesses one frame with a throw-away [`Preprocessor`].
pub fn preprocess(frame: &FrameRef<'_>, spec: &ModelSpec) -> Result<PlainTensor> {
    Preprocessor::new(spec).run(frame)
}

/// A public copy of a key's contents, for statistical tests.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyView {
    /// The k weights; index 0 weighs the frame.
    pub weights: Vec<f32>,
    /// Per public slot: (image, x0, y0, crop width, crop height, flipped).
    pub slots: Vec<(u32, i32, i32, u32, u32, bool)>,
    /// The seed of the sign mask.
    pub mask_seed: [u8; 32],
}

/// Test and attack access to a key's secret.
pub trait KeyHazmat: Sized {
    /// A key drawn from a fixed seed, for known-answer vectors.
    fn insecure_from_seed(seed: [u8; 32], encryptor: &Encryptor) -> Result<Self>;
    /// Copies the secret out of the key.
    fn insecure_view(&self) -> KeyView;
    /// The k weights; index 0 weighs the frame.
    fn secret_weights(&self) -> &[f32];
    /// The k-1 public slots.
    fn secret_slots(&self) -> &[Slot];
}

impl KeyHazmat for OneTimeKey {
    fn insecure_from_seed(seed: [u8; 32], encryptor: &Encryptor) -> Result<OneTimeKey> {
        encryptor
            .instahide()?
            .key_from(&mut ChaCha20Rng::from_seed(seed))
    }
    fn insecure_view(&self) -> KeyView {
        KeyView {
            weights: self.weights().to_vec(),
            slots: self
                .slots()
                .iter()
                .map(|s| (s.image, s.x0, s.y0, s.cw, s.ch, s.flip != 0))
                .collect(),
            mask_seed: *self.mask_seed(),
        }
    }
    fn secret_weights(&self) -> &[f32] {
        self.weights()
    }
    fn secret_slots(&self) -> &[Slot] {
        self.slots()
    }
}

/// The normalisations a sidecar implies, as the kernels apply them.
pub trait SpecHazmat {
    /// Normalisation of the private frame, on raw 0..255 values.
    fn frame_normalisation(&self) -> Affine;
}

impl SpecHazmat for ModelSpec {
    fn frame_normalisation(&self) -> Affine {
        ModelSpec::frame_affine(self)
    }
}

/// Test and attack entry points of the encryptor.
pub trait EncryptorHazmat: Sized {
    /// The spec-like reference implementation (slow; for audits and tests).
    fn encrypt_reference(&self, x: &PlainTensor, key: OneTimeKey) -> Result<Encryption>;
    /// The CPU fast path whatever the backend.
    fn encrypt_cpu(&self, x: &PlainTensor, key: OneTimeKey) -> Result<Encryption>;
    /// The CPU fast path into a caller's buffer.
    fn encrypt_cpu_into(&self, x: &PlainTensor, key: OneTimeKey, out: &mut [f32]) -> Result<()>;
    /// The CPU fast path with its portable kernel forced (no AVX-512), so
    /// tests and benchmarks can hold every kernel to the reference on a
    /// machine that would pick the widest.
    fn encrypt_cpu_portable(&self, x: &PlainTensor, key: OneTimeKey) -> Result<Encryption>;
    /// [`Encryptor::prepare_key`] with the portable kernel forced.
    fn prepare_key_portable(&self, key: OneTimeKey) -> Result<PreparedKey>;
    /// Caps the frames per GPU submission (the storage-binding limit caps it
    /// anyway), so tests can exercise chunking with small batches.
    fn with_max_gpu_chunk(self, frames: usize) -> Self;
    /// The corpus as the kernels read it (InstaHide only).
    fn prepared_pool(&self) -> Result<&PreparedPool>;
    /// The normalisation applied to public images (InstaHide only).
    fn pool_affine(&self) -> Result<&Affine>;
    /// DisguisedNets: the spec-like reference with its noise drawn from a
    /// ChaCha20 stream seeded with `noise_seed` (known-answer vectors).
    fn disguise_reference(&self, x: &PlainTensor, noise_seed: [u8; 32]) -> Result<Encryption>;
    /// DisguisedNets: the CPU fast path whatever the backend, noise as in
    /// [`EncryptorHazmat::disguise_reference`].
    fn disguise_cpu(&self, x: &PlainTensor, noise_seed: [u8; 32]) -> Result<Encryption>;
    /// DisguisedNets: the selected backend, noise as in
    /// [`EncryptorHazmat::disguise_reference`].
    fn disguise_seeded(&self, xs: &[PlainTensor], noise_seed: [u8; 32]) -> Result<Vec<f32>>;
}

impl Encryptor {
    fn disguised(&self) -> Result<&crate::scheme::disguisednets::DisguisedNets> {
        self.disguisednets().ok_or_else(|| {
            crate::Error::SchemeMismatch(format!(
                "model {} does not use DisguisedNets",
                self.spec().name()
            ))
        })
    }

    fn cpu_with(&self, x: &PlainTensor, key: OneTimeKey, kernel: Kernel) -> Result<Encryption> {
        self.check(x, &key)?;
        let mut out = self
            .instahide()?
            .cpu_each(&[x.data()], std::slice::from_ref(&key), kernel);
        Ok(self.wrap(out.remove(0)))
    }
}

impl EncryptorHazmat for Encryptor {
    fn encrypt_reference(&self, x: &PlainTensor, key: OneTimeKey) -> Result<Encryption> {
        self.check(x, &key)?;
        Ok(self.wrap(self.instahide()?.reference(x.data(), &key)))
    }
    fn encrypt_cpu(&self, x: &PlainTensor, key: OneTimeKey) -> Result<Encryption> {
        self.cpu_with(x, key, Kernel::Auto)
    }
    fn encrypt_cpu_into(&self, x: &PlainTensor, key: OneTimeKey, out: &mut [f32]) -> Result<()> {
        self.check(x, &key)?;
        check_out(out, x.data().len())?;
        self.instahide()?
            .cpu_into(&[x.data()], std::slice::from_ref(&key), out, Kernel::Auto);
        Ok(())
    }
    fn encrypt_cpu_portable(&self, x: &PlainTensor, key: OneTimeKey) -> Result<Encryption> {
        self.cpu_with(x, key, Kernel::Portable)
    }
    fn prepare_key_portable(&self, key: OneTimeKey) -> Result<PreparedKey> {
        self.instahide()?.prepare(key, Kernel::Portable)
    }
    fn with_max_gpu_chunk(mut self, frames: usize) -> Encryptor {
        self.set_max_gpu_chunk(frames);
        self
    }
    fn prepared_pool(&self) -> Result<&PreparedPool> {
        Ok(&self.instahide()?.bound().pool)
    }
    fn pool_affine(&self) -> Result<&Affine> {
        Ok(&self.instahide()?.bound().affine)
    }
    fn disguise_reference(&self, x: &PlainTensor, noise_seed: [u8; 32]) -> Result<Encryption> {
        self.check_frame(x)?;
        let dn = self.disguised()?;
        Ok(self.wrap(dn.reference(x.data(), &mut ChaCha20Rng::from_seed(noise_seed))))
    }
    fn disguise_cpu(&self, x: &PlainTensor, noise_seed: [u8; 32]) -> Result<Encryption> {
        self.check_frame(x)?;
        let mut out = vec![0f32; x.data().len()];
        self.disguised()?.encrypt_into(
            &[x.data()],
            &mut out,
            &mut ChaCha20Rng::from_seed(noise_seed),
            true,
        )?;
        Ok(self.wrap(out))
    }
    fn disguise_seeded(&self, xs: &[PlainTensor], noise_seed: [u8; 32]) -> Result<Vec<f32>> {
        xs.iter().try_for_each(|x| self.check_frame(x))?;
        let frames: Vec<&[f32]> = xs.iter().map(PlainTensor::data).collect();
        let mut out = vec![0f32; xs.len() * self.spec().geometry().len()];
        self.disguised()?.encrypt_into(
            &frames,
            &mut out,
            &mut ChaCha20Rng::from_seed(noise_seed),
            false,
        )?;
        Ok(out)
    }
}
