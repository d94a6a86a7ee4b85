//! The encryptor: a model spec, its scheme bound to a public corpus, and a
//! backend (GPU through wgpu, or the CPU), turning preprocessed frames into
//! encryptions.
//!
//! Every public entry point takes its keys by value, so a key cannot be used
//! twice, and the returned [`Encryption`] carries no key material. The front
//! end checks what a caller hands in and dispatches on the model's scheme;
//! the scheme's module does the work.

mod encryption;

pub use encryption::{Encryption, EncryptionMeta};

use crate::backend::{Backend, BackendChoice};
use crate::error::{Error, Result};
use crate::frame::PlainTensor;
use crate::pool::PublicPool;
use crate::scheme::disguisednets::DisguisedNets;
use crate::scheme::disguisednets::key::DisguiseKey;
use crate::scheme::instahide::key::OneTimeKey;
use crate::scheme::instahide::{InstaHide, PreparedKey, cpu};
use crate::spec::{ModelSpec, Scheme};

/// A scheme bound to one model and corpus.
enum BoundScheme {
    InstaHide(InstaHide),
    DisguisedNets(DisguisedNets),
}

/// Encrypts frames for one model with one public corpus.
pub struct Encryptor {
    spec: ModelSpec,
    scheme: BoundScheme,
    fallback: Option<String>,
}

impl std::fmt::Debug for Encryptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encryptor")
            .field("model", &self.spec.name())
            .field("scheme", &self.spec.scheme())
            .field("backend", &self.backend())
            .finish()
    }
}

impl Encryptor {
    /// Binds an InstaHide model to `pool` and opens the backend. Fails if
    /// the pool does not fit the model or is not the corpus the model names,
    /// and for a DisguisedNets model (open it with [`Encryptor::with_key`]).
    pub fn new(spec: ModelSpec, pool: &PublicPool, choice: BackendChoice) -> Result<Encryptor> {
        let (scheme, fallback) = match spec.scheme() {
            Scheme::InstaHide => {
                let (ih, fallback) = InstaHide::new(&spec, pool, choice)?;
                (BoundScheme::InstaHide(ih), fallback)
            }
            Scheme::DisguisedNets => {
                return Err(Error::SchemeMismatch(format!(
                    "model {} uses DisguisedNets: open it with its deployment key",
                    spec.name()
                )));
            }
        };
        Ok(Encryptor {
            spec,
            scheme,
            fallback,
        })
    }

    /// Binds a DisguisedNets model to its deployment key (consumed: only its
    /// expansion is kept, and wiped on drop) and opens the backend. Fails if
    /// the key was made for another block or frame size, or is not the key
    /// the sidecar names.
    pub fn with_key(spec: ModelSpec, key: DisguiseKey, choice: BackendChoice) -> Result<Encryptor> {
        let (dn, fallback) = DisguisedNets::new(&spec, key, choice)?;
        let scheme = BoundScheme::DisguisedNets(dn);
        Ok(Encryptor {
            spec,
            scheme,
            fallback,
        })
    }

    /// The model's sidecar.
    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }
    /// The backend in use.
    pub fn backend(&self) -> Backend {
        match &self.scheme {
            BoundScheme::InstaHide(ih) => ih.backend(),
            BoundScheme::DisguisedNets(dn) => dn.backend(),
        }
    }
    /// Why `Auto` fell back to the CPU, if it did.
    pub fn fallback_reason(&self) -> Option<&str> {
        self.fallback.as_deref()
    }
    /// log2 of the distinguishable public images one key's slot can take
    /// from the corpus (over every source image, crop size, position and
    /// flip the key may draw); 0 for a scheme without a corpus.
    pub fn effective_pool_log2(&self) -> f64 {
        self.instahide().map_or(0.0, InstaHide::pool_log2)
    }

    /// The InstaHide binding; an error for another scheme (one-time keys
    /// and prepared keys are InstaHide's).
    pub(crate) fn instahide(&self) -> Result<&InstaHide> {
        match &self.scheme {
            BoundScheme::InstaHide(ih) => Ok(ih),
            BoundScheme::DisguisedNets(_) => Err(self.not_instahide()),
        }
    }
    #[cfg_attr(not(feature = "hazmat"), allow(dead_code))]
    pub(crate) fn disguisednets(&self) -> Option<&DisguisedNets> {
        match &self.scheme {
            BoundScheme::DisguisedNets(dn) => Some(dn),
            BoundScheme::InstaHide(_) => None,
        }
    }
    #[cfg_attr(not(feature = "hazmat"), allow(dead_code))]
    pub(crate) fn set_max_gpu_chunk(&mut self, frames: usize) {
        match &mut self.scheme {
            BoundScheme::InstaHide(ih) => ih.set_max_gpu_chunk(frames),
            BoundScheme::DisguisedNets(dn) => dn.set_max_gpu_chunk(frames),
        }
    }
    fn not_instahide(&self) -> Error {
        Error::SchemeMismatch(format!(
            "model {} uses {}, which has no one-time keys",
            self.spec.name(),
            self.spec.scheme()
        ))
    }

    /// A fresh key from the OS-seeded CSPRNG.
    pub fn new_key(&self) -> Result<OneTimeKey> {
        self.instahide()?.new_key()
    }

    pub(crate) fn check(&self, x: &PlainTensor, key: &OneTimeKey) -> Result<()> {
        self.check_frame(x)?;
        self.instahide()?.check_key(key)
    }

    pub(crate) fn check_frame(&self, x: &PlainTensor) -> Result<()> {
        let want = self.spec.geometry();
        if x.geometry() != want {
            return Err(Error::ShapeMismatch {
                expected: want.shape(),
                got: x.geometry().shape(),
            });
        }
        Ok(())
    }

    pub(crate) fn wrap(&self, data: Vec<f32>) -> Encryption {
        Encryption::new(
            self.spec.geometry(),
            data,
            EncryptionMeta {
                scheme: self.spec.scheme(),
                k: self.instahide().map_or(1, InstaHide::k),
            },
        )
    }

    /// Encrypts one frame with a fresh key on the selected backend.
    pub fn encrypt_fresh(&self, x: &PlainTensor) -> Result<Encryption> {
        let mut v = self.encrypt_batch_fresh(std::slice::from_ref(x))?;
        Ok(v.remove(0))
    }

    /// Encrypts one frame with `key` (consumed) on the selected backend.
    pub fn encrypt(&self, x: &PlainTensor, key: OneTimeKey) -> Result<Encryption> {
        let mut v = self.encrypt_batch(std::slice::from_ref(x), vec![key])?;
        Ok(v.remove(0))
    }

    /// Encrypts frames with fresh keys on the selected backend.
    pub fn encrypt_batch_fresh(&self, xs: &[PlainTensor]) -> Result<Vec<Encryption>> {
        if let BoundScheme::DisguisedNets(_) = &self.scheme {
            let len = self.spec.geometry().len();
            let mut flat = vec![0f32; xs.len() * len];
            self.encrypt_fresh_into(xs, &mut flat)?;
            return Ok(flat
                .chunks_exact(len)
                .map(|o| self.wrap(o.to_vec()))
                .collect());
        }
        self.encrypt_batch(xs, self.fresh_keys(xs.len())?)
    }

    fn fresh_keys(&self, n: usize) -> Result<Vec<OneTimeKey>> {
        (0..n).map(|_| self.new_key()).collect()
    }

    /// Checks frames and keys pairwise.
    pub(crate) fn check_all(&self, xs: &[PlainTensor], keys: &[OneTimeKey]) -> Result<()> {
        if xs.len() != keys.len() {
            return Err(Error::params(
                "keys",
                format!("{} frames but {} keys", xs.len(), keys.len()),
            ));
        }
        xs.iter().zip(keys).try_for_each(|(x, k)| self.check(x, k))
    }

    /// Encrypts frames, one key each (consumed), on the selected backend
    /// (one GPU submission per chunk, or over all cores on the CPU).
    pub fn encrypt_batch(
        &self,
        xs: &[PlainTensor],
        keys: Vec<OneTimeKey>,
    ) -> Result<Vec<Encryption>> {
        self.check_all(xs, &keys)?;
        let frames: Vec<&[f32]> = xs.iter().map(PlainTensor::data).collect();
        let outs = self
            .instahide()?
            .encrypt_each(&frames, &keys, cpu::Kernel::Auto)?;
        Ok(outs.into_iter().map(|o| self.wrap(o)).collect())
    }

    /// Encrypts each frame with its own fresh key into `out`, laid end to end
    /// (the layout of a batched inference request), on the selected backend.
    /// No `Encryption` per frame: the request path's copy-free form of
    /// `encrypt_batch_fresh`.
    pub fn encrypt_fresh_into(&self, xs: &[PlainTensor], out: &mut [f32]) -> Result<()> {
        check_out(out, xs.len() * self.spec.geometry().len())?;
        // Fresh keys fit this encryptor; only the frames need checking, and
        // before any key is drawn.
        for x in xs {
            self.check_frame(x)?;
        }
        let frames: Vec<&[f32]> = xs.iter().map(PlainTensor::data).collect();
        match &self.scheme {
            BoundScheme::InstaHide(ih) => {
                ih.encrypt_into(&frames, &self.fresh_keys(xs.len())?, out)
            }
            BoundScheme::DisguisedNets(dn) => {
                dn.encrypt_into(&frames, out, &mut crate::rng::os_seeded()?, false)
            }
        }
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
        self.instahide()?.prepare(key, cpu::Kernel::Auto)
    }

    /// Encrypts `x` with a prepared key (consumed) into `out`: the same
    /// values as encrypting with the key itself, bit for bit.
    pub fn encrypt_prepared_into(
        &self,
        x: &PlainTensor,
        key: PreparedKey,
        out: &mut [f32],
    ) -> Result<()> {
        self.check_frame(x)?;
        check_out(out, x.data().len())?;
        self.instahide()?.apply_prepared(x.data(), key, out)
    }
}

/// A caller's output buffer must hold exactly `len` values.
pub(crate) fn check_out(out: &[f32], len: usize) -> Result<()> {
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
