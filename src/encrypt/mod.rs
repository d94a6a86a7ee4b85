//! The encryptor: a model spec, a prepared public pool and a backend (GPU
//! through wgpu, or the CPU), turning preprocessed frames into encryptions.
//!
//! Every public entry point takes its keys by value, so a key cannot be used
//! twice, and the returned [`Encryption`] carries no key material.

pub(crate) mod cpu;
pub(crate) mod gpu;
mod prepared;

use std::path::Path;

use crate::error::{Error, Result};
use crate::frame::PlainTensor;
use crate::key::{Binding, OneTimeKey};
use crate::pool::{PreparedPool, PublicPool};
use crate::spec::{Affine, Geometry, ModelSpec};

pub use gpu::MIX_SHADER;
pub use prepared::PreparedKey;

/// Which backend to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum BackendChoice {
    /// The CPU fast path.
    Cpu,
    /// The GPU; an error if no adapter can be opened.
    Gpu,
    /// The GPU if an adapter can be opened, else the CPU (see
    /// [`Encryptor::fallback_reason`]).
    #[default]
    Auto,
}

impl std::str::FromStr for BackendChoice {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "cpu" => Ok(BackendChoice::Cpu),
            "gpu" => Ok(BackendChoice::Gpu),
            "auto" => Ok(BackendChoice::Auto),
            _ => Err(Error::params(
                "backend",
                format!("expected cpu, gpu or auto, got {s:?}"),
            )),
        }
    }
}

/// The backend an encryptor actually runs on.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Backend {
    Cpu,
    /// The adapter's name and graphics API.
    Gpu(String),
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Backend::Cpu => f.write_str("cpu"),
            Backend::Gpu(name) => write!(f, "gpu: {name}"),
        }
    }
}

/// What the encryption scheme was, for the receiver; no key material.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct EncryptionMeta {
    pub scheme: String,
    pub k: usize,
    pub pool_fingerprint: String,
}

/// One encrypted frame: C x H x W f32 values plus what produced them.
#[derive(Clone, PartialEq)]
pub struct Encryption {
    geometry: Geometry,
    data: Vec<f32>,
    meta: EncryptionMeta,
}

impl std::fmt::Debug for Encryption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Encryption({:?}, {:?})",
            self.geometry.shape(),
            self.meta
        )
    }
}

impl Encryption {
    pub fn geometry(&self) -> Geometry {
        self.geometry
    }
    /// `[C, H, W]`.
    pub fn shape(&self) -> [usize; 3] {
        self.geometry.shape()
    }
    pub fn data(&self) -> &[f32] {
        &self.data
    }
    pub fn into_data(self) -> Vec<f32> {
        self.data
    }
    pub fn meta(&self) -> &EncryptionMeta {
        &self.meta
    }
    /// Writes a float32 `.npy` file of shape (C, H, W).
    pub fn write_npy(&self, path: &Path) -> Result<()> {
        crate::npy::write(path, &self.shape(), self.data.iter().copied())
    }
}

/// Encrypts frames for one model with one public pool.
pub struct Encryptor {
    spec: ModelSpec,
    pool: PreparedPool,
    binding: Binding,
    affine: Affine,
    pool_log2: f64,
    /// The corpus fingerprint as each `Encryption` reports it, formatted once.
    pool_hex: String,
    gpu: Option<gpu::GpuEncryptor>,
    fallback: Option<String>,
    max_gpu_chunk: usize,
}

impl std::fmt::Debug for Encryptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encryptor")
            .field("model", &self.spec.name())
            .field("backend", &self.backend())
            .field("pool_images", &self.pool.entries.len())
            .finish()
    }
}

impl Encryptor {
    /// Prepares the pool for the model and opens the backend. Fails if the
    /// pool does not fit the model or is not the corpus the model names.
    pub fn new(spec: ModelSpec, pool: &PublicPool, choice: BackendChoice) -> Result<Encryptor> {
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
        Ok(Encryptor {
            binding: Binding {
                pool: pool.fingerprint(),
                geometry: spec.geometry(),
                k: spec.params().k(),
            },
            affine: spec.pool_affine(),
            pool_log2: pool.effective_log2(spec.geometry(), spec.params()),
            pool_hex: pool.fingerprint_hex(),
            spec,
            pool: prepared,
            gpu,
            fallback,
            max_gpu_chunk: usize::MAX,
        })
    }

    /// Caps the frames per GPU submission (bounding GPU memory per batch);
    /// the storage-binding limit caps it anyway.
    pub fn with_max_gpu_chunk(mut self, frames: usize) -> Encryptor {
        self.max_gpu_chunk = frames.max(1);
        self
    }

    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }
    /// The backend in use.
    pub fn backend(&self) -> Backend {
        match &self.gpu {
            Some(g) => Backend::Gpu(g.adapter_name().to_string()),
            None => Backend::Cpu,
        }
    }
    /// Why `Auto` fell back to the CPU, if it did.
    pub fn fallback_reason(&self) -> Option<&str> {
        self.fallback.as_deref()
    }
    /// log2 of the distinguishable public images per slot (see
    /// [`PublicPool::effective_log2`]).
    pub fn effective_pool_log2(&self) -> f64 {
        self.pool_log2
    }
    pub(crate) fn prepared_pool(&self) -> &PreparedPool {
        &self.pool
    }
    /// The normalisation applied to public images.
    pub(crate) fn pool_affine(&self) -> &Affine {
        &self.affine
    }

    /// A fresh key from the OS-seeded CSPRNG.
    pub fn new_key(&self) -> Result<OneTimeKey> {
        OneTimeKey::generate(self.spec.params(), &self.pool)
    }

    fn check(&self, x: &PlainTensor, key: &OneTimeKey) -> Result<()> {
        self.check_frame(x)?;
        key.check(&self.binding)
    }

    fn check_frame(&self, x: &PlainTensor) -> Result<()> {
        if x.geometry() != self.binding.geometry {
            return Err(Error::ShapeMismatch {
                expected: self.binding.geometry.shape(),
                got: x.geometry().shape(),
            });
        }
        Ok(())
    }

    fn wrap(&self, data: Vec<f32>) -> Encryption {
        Encryption {
            geometry: self.binding.geometry,
            data,
            meta: EncryptionMeta {
                scheme: "instahide".into(),
                k: self.binding.k,
                pool_fingerprint: self.pool_hex.clone(),
            },
        }
    }

    /// Encrypts one frame with a fresh key on the selected backend.
    pub fn encrypt_fresh(&self, x: &PlainTensor) -> Result<Encryption> {
        let key = self.new_key()?;
        self.encrypt(x, key)
    }

    /// Encrypts one frame with `key` on the selected backend.
    pub fn encrypt(&self, x: &PlainTensor, key: OneTimeKey) -> Result<Encryption> {
        let mut v = self.encrypt_batch(std::slice::from_ref(x), vec![key])?;
        Ok(v.remove(0))
    }

    /// Encrypts frames with fresh keys on the selected backend.
    pub fn encrypt_batch_fresh(&self, xs: &[PlainTensor]) -> Result<Vec<Encryption>> {
        self.encrypt_batch(xs, self.fresh_keys(xs.len())?)
    }

    fn fresh_keys(&self, n: usize) -> Result<Vec<OneTimeKey>> {
        (0..n).map(|_| self.new_key()).collect()
    }

    /// One frame on the CPU fast path.
    fn encrypt_frame(
        &self,
        x: &PlainTensor,
        key: &OneTimeKey,
        out: &mut [f32],
        s: &mut cpu::Scratch,
        kernel: cpu::Kernel,
    ) {
        cpu::encrypt_fast(
            Some(x.data()),
            key,
            &self.pool,
            &self.affine,
            out,
            s,
            kernel,
        );
    }

    /// Frames on the GPU, laid end to end.
    fn gpu_flat(
        &self,
        gpu: &gpu::GpuEncryptor,
        xs: &[PlainTensor],
        keys: &[OneTimeKey],
    ) -> Result<Vec<f32>> {
        let frames: Vec<&[f32]> = xs.iter().map(|x| x.data()).collect();
        gpu.encrypt(
            &frames,
            keys,
            &self.pool,
            &self.affine,
            self.binding.k,
            self.max_gpu_chunk,
        )
    }

    /// Encrypts frames, one key each, on the selected backend (one GPU
    /// submission per chunk).
    pub fn encrypt_batch(
        &self,
        xs: &[PlainTensor],
        keys: Vec<OneTimeKey>,
    ) -> Result<Vec<Encryption>> {
        if xs.len() != keys.len() {
            return Err(Error::params(
                "keys",
                format!("{} frames but {} keys", xs.len(), keys.len()),
            ));
        }
        for (x, key) in xs.iter().zip(&keys) {
            self.check(x, key)?;
        }
        match &self.gpu {
            None => Ok(self.cpu_batch(xs, &keys)),
            Some(gpu) => {
                let flat = self.gpu_flat(gpu, xs, &keys)?;
                let len = self.binding.geometry.len();
                Ok(flat
                    .chunks_exact(len)
                    .map(|c| self.wrap(c.to_vec()))
                    .collect())
            }
        }
    }

    /// Frames are spread over the rayon thread pool, one scratch per worker.
    fn cpu_batch(&self, xs: &[PlainTensor], keys: &[OneTimeKey]) -> Vec<Encryption> {
        self.cpu_batch_with(xs, keys, cpu::Kernel::Auto)
    }

    fn cpu_batch_with(
        &self,
        xs: &[PlainTensor],
        keys: &[OneTimeKey],
        kernel: cpu::Kernel,
    ) -> Vec<Encryption> {
        use rayon::prelude::*;
        let one = |scratch: &mut cpu::Scratch, (x, key): (&PlainTensor, &OneTimeKey)| {
            let mut out = vec![0f32; x.data().len()];
            self.encrypt_frame(x, key, &mut out, scratch, kernel);
            self.wrap(out)
        };
        if xs.len() == 1 {
            return vec![cpu::with_scratch(|s| one(s, (&xs[0], &keys[0])))];
        }
        xs.par_iter()
            .zip(keys)
            .map_init(cpu::Scratch::default, one)
            .collect()
    }

    /// Encrypts on the CPU fast path whatever the backend.
    pub fn encrypt_cpu(&self, x: &PlainTensor, key: OneTimeKey) -> Result<Encryption> {
        self.check(x, &key)?;
        Ok(self
            .cpu_batch(std::slice::from_ref(x), std::slice::from_ref(&key))
            .remove(0))
    }

    /// Encrypts each frame with its own fresh key into `out`, laid end to end
    /// (the layout of a batched inference request), on the selected backend.
    /// No `Encryption` per frame: the request path's copy-free form of
    /// `encrypt_batch_fresh`.
    pub fn encrypt_fresh_into(&self, xs: &[PlainTensor], out: &mut [f32]) -> Result<()> {
        let len = self.binding.geometry.len();
        check_out(out, xs.len() * len)?;
        // Fresh keys fit this encryptor; only the frames need checking, and
        // before any key is drawn.
        for x in xs {
            self.check_frame(x)?;
        }
        let keys = self.fresh_keys(xs.len())?;
        match &self.gpu {
            None if xs.len() == 1 => cpu::with_scratch(|s| {
                self.encrypt_frame(&xs[0], &keys[0], out, s, cpu::Kernel::Auto)
            }),
            None => {
                use rayon::prelude::*;
                out.par_chunks_exact_mut(len)
                    .zip(xs)
                    .zip(&keys)
                    .for_each_init(cpu::Scratch::default, |s, ((o, x), key)| {
                        self.encrypt_frame(x, key, o, s, cpu::Kernel::Auto)
                    });
            }
            Some(gpu) => out.copy_from_slice(&self.gpu_flat(gpu, xs, &keys)?),
        }
        Ok(())
    }

    /// Draws a fresh key and does its half of the work ahead of the frame
    /// on the CPU (its crops mixed into a pad, its mask expanded), for a
    /// client with idle time between frames;
    /// [`Encryptor::encrypt_prepared_into`] then finishes the encryption
    /// with one pass over the frame (multiply, add, sign), bit for bit the
    /// same as encrypting with the key directly.
    pub fn prepare(&self) -> Result<PreparedKey> {
        self.prepare_key(self.new_key()?)
    }

    /// [`Encryptor::prepare`] for a key drawn earlier (consumed).
    pub fn prepare_key(&self, key: OneTimeKey) -> Result<PreparedKey> {
        self.prepare_with(key, cpu::Kernel::Auto)
    }

    /// INSECURE-feature builds only: [`Encryptor::prepare_key`] with the
    /// portable kernel forced, as in [`Encryptor::encrypt_cpu_portable`].
    #[cfg(feature = "insecure-test-keys")]
    pub fn prepare_key_portable(&self, key: OneTimeKey) -> Result<PreparedKey> {
        self.prepare_with(key, cpu::Kernel::Portable)
    }

    fn prepare_with(&self, key: OneTimeKey, kernel: cpu::Kernel) -> Result<PreparedKey> {
        key.check(&self.binding)?;
        Ok(PreparedKey::new(key, &self.pool, &self.affine, kernel))
    }

    /// Encrypts `x` with a prepared key (consumed) into `out`: the same
    /// values as encrypting with the key itself, bit for bit.
    pub fn encrypt_prepared_into(
        &self,
        x: &PlainTensor,
        key: PreparedKey,
        out: &mut [f32],
    ) -> Result<()> {
        key.binding().check(&self.binding)?;
        self.check_frame(x)?;
        check_out(out, x.data().len())?;
        key.apply(x.data(), out);
        Ok(())
    }

    /// Encrypts into a caller's buffer on the CPU fast path, for callers that
    /// batch on their own and want no allocation per frame.
    pub fn encrypt_cpu_into(
        &self,
        x: &PlainTensor,
        key: OneTimeKey,
        out: &mut [f32],
    ) -> Result<()> {
        self.check(x, &key)?;
        check_out(out, x.data().len())?;
        cpu::with_scratch(|s| self.encrypt_frame(x, &key, out, s, cpu::Kernel::Auto));
        Ok(())
    }

    /// INSECURE-feature builds only: the CPU fast path with its portable
    /// kernel forced (no AVX-512), so tests and benchmarks can hold every
    /// kernel to the reference on a machine that would pick the widest.
    #[cfg(feature = "insecure-test-keys")]
    pub fn encrypt_cpu_portable(&self, x: &PlainTensor, key: OneTimeKey) -> Result<Encryption> {
        self.check(x, &key)?;
        Ok(self
            .cpu_batch_with(
                std::slice::from_ref(x),
                std::slice::from_ref(&key),
                cpu::Kernel::Portable,
            )
            .remove(0))
    }

    /// The spec-like reference implementation (slow; for audits and tests).
    pub fn encrypt_reference(&self, x: &PlainTensor, key: OneTimeKey) -> Result<Encryption> {
        self.check(x, &key)?;
        Ok(self.wrap(cpu::encrypt_reference(
            x.data(),
            &key,
            &self.pool,
            &self.affine,
        )))
    }
}

/// A caller's output buffer must hold exactly `len` values.
fn check_out(out: &[f32], len: usize) -> Result<()> {
    if out.len() != len {
        return Err(Error::params(
            "out",
            format!("needs {len} values, got {}", out.len()),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    /// One encryptor serves many threads (a server, a camera pipeline).
    #[test]
    fn encryptor_is_shareable_and_keys_are_sendable() {
        fn shareable<T: Send + Sync>() {}
        fn sendable<T: Send>() {}
        shareable::<super::Encryptor>();
        sendable::<crate::OneTimeKey>();
    }
}
