//! DisguisedNets (Sharma and Chen): each channel of the frame is cut into
//! `b x b` blocks; the block at position `p`, as a `b x b` matrix `B`, is
//! right-multiplied by that position's secret orthogonal matrix (`B R_p`,
//! the paper's RMT), the blocks are moved by a secret permutation of the
//! positions, and fresh Gaussian noise may be added. The key belongs to the
//! deployment, not to the frame ([`key`]); the CPU kernels are in [`cpu`],
//! the GPU dispatch in `gpu` (`shaders/disguise_blocks.wgsl`).

pub(crate) mod cpu;
#[cfg(feature = "gpu")]
pub(crate) mod gpu;
pub(crate) mod key;
pub(crate) mod params;

use rand_chacha::ChaCha20Rng;
use zeroize::Zeroizing;

use crate::backend::{Backend, BackendChoice};
use crate::error::{Error, Result};
use crate::spec::ModelSpec;
use key::{DisguiseKey, Transform};

/// DisguisedNets for one model: its deployment key expanded, the noise, and
/// the GPU when one is in use.
pub(crate) struct DisguisedNets {
    transform: Transform,
    #[cfg_attr(not(feature = "hazmat"), allow(dead_code))]
    channels: usize,
    noise: f32,
    #[cfg(feature = "gpu")]
    gpu: Option<gpu::GpuDisguiser>,
    max_gpu_chunk: usize,
}

impl DisguisedNets {
    /// Expands `key` (consumed) for `spec` and opens the backend; the second
    /// value says why `Auto` fell back to the CPU, if it did.
    pub(crate) fn new(
        spec: &ModelSpec,
        key: DisguiseKey,
        choice: BackendChoice,
    ) -> Result<(DisguisedNets, Option<String>)> {
        let params = spec.disguise().ok_or_else(|| {
            Error::SchemeMismatch(format!("model {} does not use DisguisedNets", spec.name()))
        })?;
        let g = spec.geometry();
        let b = key.binding();
        if b.block != params.block as usize || (b.height, b.width) != (g.height, g.width) {
            return Err(Error::KeyMismatch(
                "the key was made for another block size or frame size",
            ));
        }
        if let Some(id) = &params.key_id
            && *id != key.id()
        {
            return Err(Error::KeyMismatch(
                "the model was trained with another deployment key",
            ));
        }
        let transform = key.expand();
        drop(key);
        #[cfg(feature = "gpu")]
        let (gpu, fallback) = match choice {
            BackendChoice::Cpu => (None, None),
            BackendChoice::Gpu => (Some(gpu::GpuDisguiser::new(&transform)?), None),
            BackendChoice::Auto => match gpu::GpuDisguiser::new(&transform) {
                Ok(g) => (Some(g), None),
                Err(e) => {
                    tracing::warn!("GPU unavailable, disguising on the CPU: {e}");
                    (None, Some(e.to_string()))
                }
            },
        };
        #[cfg(not(feature = "gpu"))]
        let fallback = crate::backend::cpu_only(choice)?;
        Ok((
            DisguisedNets {
                transform,
                channels: g.channels,
                noise: params.noise as f32,
                #[cfg(feature = "gpu")]
                gpu,
                max_gpu_chunk: usize::MAX,
            },
            fallback,
        ))
    }

    pub(crate) fn backend(&self) -> Backend {
        #[cfg(feature = "gpu")]
        if let Some(g) = &self.gpu {
            return Backend::Gpu(g.adapter_name().to_string());
        }
        Backend::Cpu
    }

    /// Caps the frames per GPU submission.
    #[cfg_attr(not(feature = "hazmat"), allow(dead_code))]
    pub(crate) fn set_max_gpu_chunk(&mut self, frames: usize) {
        self.max_gpu_chunk = frames.max(1);
    }

    /// Fresh noise for `frames` frames of `len` values from `rng`; none when
    /// the model has no noise.
    fn noise(&self, rng: &mut ChaCha20Rng, values: usize) -> Option<Zeroizing<Vec<f32>>> {
        (self.noise > 0.0).then(|| {
            let mut v = Zeroizing::new(vec![0f32; values]);
            cpu::draw_noise(rng, self.noise, &mut v);
            v
        })
    }

    /// Disguises frames into `out`, laid end to end, with noise from `rng`,
    /// on the GPU when one is in use unless `cpu_only`.
    pub(crate) fn encrypt_into(
        &self,
        xs: &[&[f32]],
        out: &mut [f32],
        rng: &mut ChaCha20Rng,
        cpu_only: bool,
    ) -> Result<()> {
        if xs.is_empty() {
            return Ok(());
        }
        let len = out.len() / xs.len();
        let noise = self.noise(rng, out.len());
        #[cfg(feature = "gpu")]
        if let Some(gpu) = self.gpu.as_ref().filter(|_| !cpu_only) {
            let got = gpu.disguise(
                &self.transform,
                xs,
                noise.as_deref().map(|n| &n[..]),
                self.max_gpu_chunk,
            )?;
            out.copy_from_slice(&got);
            return Ok(());
        }
        let _ = cpu_only;
        use rayon::prelude::*;
        let t = &self.transform;
        let frame_noise = |i: usize| noise.as_ref().map(|n| &n[i * len..(i + 1) * len]);
        if xs.len() == 1 {
            cpu::disguise(t, xs[0], frame_noise(0), out);
            return Ok(());
        }
        out.par_chunks_exact_mut(len)
            .zip(xs)
            .enumerate()
            .for_each(|(i, (o, x))| cpu::disguise(t, x, frame_noise(i), o));
        Ok(())
    }

    /// The spec-like reference, noise from `rng`.
    #[cfg(feature = "hazmat")]
    pub(crate) fn reference(&self, x: &[f32], rng: &mut ChaCha20Rng) -> Vec<f32> {
        let noise = self.noise(rng, x.len());
        cpu::reference(
            &self.transform,
            self.channels,
            x,
            noise.as_deref().map(|n| &n[..]),
        )
    }
}
