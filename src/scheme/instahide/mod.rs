//! InstaHide with one-time keys: the frame is mixed with k-1 keyed crops of
//! a public corpus using random weights, then the sign of every element is
//! flipped at random. Everything InstaHide-specific lives here: keys
//! ([`key`]), where the public crops come from ([`crops`]), the corpus as
//! the kernels read it ([`layout`]), the CPU kernels ([`cpu`]), the GPU
//! dispatch ([`gpu`], `shaders/instahide_mix.wgsl`) and prepared keys.

pub(crate) mod cpu;
pub(crate) mod crops;
#[cfg(feature = "gpu")]
pub(crate) mod gpu;
pub(crate) mod key;
pub(crate) mod layout;
mod prepared;

use key::{Binding, OneTimeKey};
use layout::PreparedPool;
pub use prepared::PreparedKey;

use crate::backend::{Backend, BackendChoice};
use crate::error::{Error, Result};
use crate::params::Params;
use crate::pool::PublicPool;
use crate::spec::{Affine, ModelSpec};

/// What one frame's encryption reads besides the frame: its key, the corpus
/// and the normalisation of the public images. Every kernel takes it.
#[derive(Clone, Copy)]
pub(crate) struct FrameCtx<'a> {
    pub key: &'a OneTimeKey,
    pub pool: &'a PreparedPool,
    pub affine: &'a Affine,
}

/// InstaHide bound to one model and corpus, whatever the backend.
pub(crate) struct Bound {
    pub pool: PreparedPool,
    pub affine: Affine,
    pub binding: Binding,
}

impl Bound {
    pub(crate) fn frame<'a>(&'a self, key: &'a OneTimeKey) -> FrameCtx<'a> {
        FrameCtx {
            key,
            pool: &self.pool,
            affine: &self.affine,
        }
    }
}

/// InstaHide for one model: the bound corpus, the parameters keys are drawn
/// with, and the GPU when one is in use.
pub(crate) struct InstaHide {
    bound: Bound,
    params: Params,
    pool_log2: f64,
    #[cfg(feature = "gpu")]
    gpu: Option<gpu::GpuEncryptor>,
    max_gpu_chunk: usize,
}

impl InstaHide {
    /// Prepares `pool` for `spec` and opens the backend; the second value
    /// says why `Auto` fell back to the CPU, if it did.
    pub(crate) fn new(
        spec: &ModelSpec,
        pool: &PublicPool,
        choice: BackendChoice,
    ) -> Result<(InstaHide, Option<String>)> {
        if let Some(want) = spec.pool_fingerprint()
            && want != pool.fingerprint_hex()
        {
            return Err(Error::InvalidPool(format!(
                "model {} was trained with corpus {want}, this one is {}",
                spec.name(),
                pool.fingerprint_hex()
            )));
        }
        let prepared = PreparedPool::new(pool, spec.geometry())?;
        #[cfg(feature = "gpu")]
        let (gpu, fallback) = match choice {
            BackendChoice::Cpu => (None, None),
            BackendChoice::Gpu => (Some(gpu::GpuEncryptor::new(&prepared)?), None),
            BackendChoice::Auto => match gpu::GpuEncryptor::new(&prepared) {
                Ok(g) => (Some(g), None),
                Err(e) => {
                    tracing::warn!("GPU unavailable, encrypting on the CPU: {e}");
                    (None, Some(e.to_string()))
                }
            },
        };
        #[cfg(not(feature = "gpu"))]
        let fallback = crate::backend::cpu_only(choice)?;
        let ih = InstaHide {
            bound: Bound {
                binding: Binding {
                    pool: pool.fingerprint(),
                    geometry: spec.geometry(),
                    k: spec.params().k(),
                },
                affine: spec.pool_affine(),
                pool: prepared,
            },
            params: *spec.params(),
            pool_log2: crops::effective_log2(pool, spec.geometry(), spec.params()),
            #[cfg(feature = "gpu")]
            gpu,
            max_gpu_chunk: usize::MAX,
        };
        Ok((ih, fallback))
    }

    pub(crate) fn backend(&self) -> Backend {
        #[cfg(feature = "gpu")]
        if let Some(g) = &self.gpu {
            return Backend::Gpu(g.adapter_name().to_string());
        }
        Backend::Cpu
    }

    pub(crate) fn k(&self) -> usize {
        self.bound.binding.k
    }

    pub(crate) fn pool_log2(&self) -> f64 {
        self.pool_log2
    }

    #[cfg_attr(not(feature = "hazmat"), allow(dead_code))]
    pub(crate) fn bound(&self) -> &Bound {
        &self.bound
    }

    /// Caps the frames per GPU submission.
    #[cfg_attr(not(feature = "hazmat"), allow(dead_code))]
    pub(crate) fn set_max_gpu_chunk(&mut self, frames: usize) {
        self.max_gpu_chunk = frames.max(1);
    }

    /// A fresh key from the OS-seeded CSPRNG.
    pub(crate) fn new_key(&self) -> Result<OneTimeKey> {
        OneTimeKey::generate(&self.params, &self.bound.pool)
    }

    /// A key drawn from `rng` (deterministic keys for known-answer vectors).
    #[cfg(feature = "hazmat")]
    pub(crate) fn key_from(&self, rng: &mut rand_chacha::ChaCha20Rng) -> Result<OneTimeKey> {
        OneTimeKey::draw(rng, &self.params, &self.bound.pool)
    }

    /// Errors unless `key` was drawn for this corpus, geometry and k.
    pub(crate) fn check_key(&self, key: &OneTimeKey) -> Result<()> {
        key.check(&self.bound.binding)
    }

    /// Each frame with its key, on the GPU when one is in use (`kernel`
    /// then does not apply), else over the rayon pool; one output per frame.
    pub(crate) fn encrypt_each(
        &self,
        xs: &[&[f32]],
        keys: &[OneTimeKey],
        kernel: cpu::Kernel,
    ) -> Result<Vec<Vec<f32>>> {
        #[cfg(feature = "gpu")]
        if let Some(gpu) = &self.gpu {
            let len = self.bound.binding.geometry.len();
            let flat = gpu.encrypt(xs, keys, &self.bound, self.max_gpu_chunk)?;
            return Ok(flat.chunks_exact(len).map(<[f32]>::to_vec).collect());
        }
        Ok(self.cpu_each(xs, keys, kernel))
    }

    /// [`InstaHide::encrypt_each`] on the CPU whatever the backend.
    pub(crate) fn cpu_each(
        &self,
        xs: &[&[f32]],
        keys: &[OneTimeKey],
        kernel: cpu::Kernel,
    ) -> Vec<Vec<f32>> {
        use rayon::prelude::*;
        let one = |s: &mut cpu::Scratch, (x, key): (&&[f32], &OneTimeKey)| {
            let mut out = vec![0f32; x.len()];
            cpu::encrypt_fast(&self.bound.frame(key), Some(x), &mut out, s, kernel);
            out
        };
        if xs.len() == 1 {
            return vec![cpu::with_scratch(|s| one(s, (&xs[0], &keys[0])))];
        }
        xs.par_iter()
            .zip(keys)
            .map_init(cpu::Scratch::default, one)
            .collect()
    }

    /// Each frame with its key into `out`, laid end to end (the layout of a
    /// batched inference request).
    pub(crate) fn encrypt_into(
        &self,
        xs: &[&[f32]],
        keys: &[OneTimeKey],
        out: &mut [f32],
    ) -> Result<()> {
        #[cfg(feature = "gpu")]
        if let Some(gpu) = &self.gpu {
            out.copy_from_slice(&gpu.encrypt(xs, keys, &self.bound, self.max_gpu_chunk)?);
            return Ok(());
        }
        self.cpu_into(xs, keys, out, cpu::Kernel::Auto);
        Ok(())
    }

    /// [`InstaHide::encrypt_into`] on the CPU whatever the backend.
    pub(crate) fn cpu_into(
        &self,
        xs: &[&[f32]],
        keys: &[OneTimeKey],
        out: &mut [f32],
        kernel: cpu::Kernel,
    ) {
        let len = self.bound.binding.geometry.len();
        if xs.len() == 1 {
            let ctx = self.bound.frame(&keys[0]);
            return cpu::with_scratch(|s| cpu::encrypt_fast(&ctx, Some(xs[0]), out, s, kernel));
        }
        use rayon::prelude::*;
        out.par_chunks_exact_mut(len)
            .zip(xs)
            .zip(keys)
            .for_each_init(cpu::Scratch::default, |s, ((o, x), key)| {
                cpu::encrypt_fast(&self.bound.frame(key), Some(x), o, s, kernel)
            });
    }

    /// The key's half of the work, ahead of the frame (consumes the key).
    pub(crate) fn prepare(&self, key: OneTimeKey, kernel: cpu::Kernel) -> Result<PreparedKey> {
        self.check_key(&key)?;
        Ok(PreparedKey::new(&self.bound.frame(&key), kernel))
    }

    /// The frame's half with a prepared key (consumed).
    pub(crate) fn apply_prepared(
        &self,
        x: &[f32],
        key: PreparedKey,
        out: &mut [f32],
    ) -> Result<()> {
        key.binding().check(&self.bound.binding)?;
        key.apply(x, out);
        Ok(())
    }

    /// The spec-like reference implementation.
    #[cfg(feature = "hazmat")]
    pub(crate) fn reference(&self, x: &[f32], key: &OneTimeKey) -> Vec<f32> {
        cpu::encrypt_reference(&self.bound.frame(key), x)
    }
}
