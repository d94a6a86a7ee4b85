//! The deployment key of DisguisedNets and what it expands to.
//!
//! Unlike InstaHide's one-time keys, one key serves a whole deployment: the
//! model is trained on frames disguised with it, and every device of the
//! deployment holds it. It is 32 bytes from the OS-seeded CSPRNG, bound to a
//! block side and a frame size, kept in a key file that is never sent
//! (created with owner-only permissions). ChaCha20 expands the seed into one
//! Haar-random orthogonal matrix per block position and a permutation of the
//! positions ([`Transform`]). Debug is redacted and the seed, the file's
//! bytes and the expansion are wiped on drop.

use std::io::Write;
use std::path::Path;

use rand::RngExt;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use sha2::Digest;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::params::MAX_BLOCK;
use crate::error::{Error, Result};
use crate::spec::{Geometry, MAX_MODEL_SIDE};

const MAGIC: &[u8; 8] = b"EHDNKEY\0";
const VERSION: u32 = 1;
/// The key file: magic, version, block, height, width (u32 LE), seed.
pub(crate) const FILE_LEN: usize = 8 + 4 * 4 + 32;
/// Hex digits of a key's public id.
pub(crate) const ID_HEX: usize = 16;

/// What a key was made for; not secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct KeyBinding {
    pub block: usize,
    pub height: usize,
    pub width: usize,
}

impl KeyBinding {
    pub(crate) fn blocks(&self) -> (usize, usize) {
        (self.height / self.block, self.width / self.block)
    }
}

/// A DisguisedNets deployment key. Load it from its file on the device;
/// make one with [`DisguiseKey::generate`] when a model is trained.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct DisguiseKey {
    seed: [u8; 32],
    #[zeroize(skip)]
    binding: KeyBinding,
}

impl std::fmt::Debug for DisguiseKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "DisguiseKey {{ id: {}, block: {}, {}x{}, <redacted> }}",
            self.id(),
            self.binding.block,
            self.binding.height,
            self.binding.width
        )
    }
}

impl DisguiseKey {
    /// A fresh key from the OS-seeded CSPRNG for `block x block` blocks of a
    /// `geometry`-sized frame.
    pub fn generate(block: u32, geometry: Geometry) -> Result<DisguiseKey> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| Error::Entropy(e.to_string()))?;
        let key = DisguiseKey::from_parts(seed, block as usize, geometry.height, geometry.width);
        seed.zeroize();
        key
    }

    fn from_parts(
        seed: [u8; 32],
        block: usize,
        height: usize,
        width: usize,
    ) -> Result<DisguiseKey> {
        let bad = |m: String| Err(Error::InvalidKey(m));
        if !(2..=MAX_BLOCK as usize).contains(&block) {
            return bad(format!("block must be 2..={MAX_BLOCK}, got {block}"));
        }
        if !(1..=MAX_MODEL_SIDE).contains(&height) || !(1..=MAX_MODEL_SIDE).contains(&width) {
            return bad(format!("frame size {height}x{width} out of range"));
        }
        if !height.is_multiple_of(block) || !width.is_multiple_of(block) {
            return bad(format!("block {block} does not divide {height}x{width}"));
        }
        Ok(DisguiseKey {
            seed,
            binding: KeyBinding {
                block,
                height,
                width,
            },
        })
    }

    /// Reads a key file's bytes; any other length, magic or version is
    /// refused.
    pub fn from_bytes(bytes: &[u8]) -> Result<DisguiseKey> {
        if bytes.len() != FILE_LEN {
            return Err(Error::InvalidKey(format!(
                "a key file has {FILE_LEN} bytes, this one {}",
                bytes.len()
            )));
        }
        if &bytes[..8] != MAGIC {
            return Err(Error::InvalidKey("not an edgehide disguise key".into()));
        }
        let word = |i: usize| {
            u32::from_le_bytes(bytes[8 + 4 * i..12 + 4 * i].try_into().unwrap_or_default())
        };
        if word(0) != VERSION {
            return Err(Error::InvalidKey(format!(
                "unknown key file version {} (this build reads {VERSION})",
                word(0)
            )));
        }
        let mut seed = [0u8; 32];
        seed.copy_from_slice(&bytes[24..]);
        let key =
            DisguiseKey::from_parts(seed, word(1) as usize, word(2) as usize, word(3) as usize);
        seed.zeroize();
        key
    }

    /// The key file's bytes, in a buffer wiped on drop.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(FILE_LEN));
        out.extend_from_slice(MAGIC);
        for w in [
            VERSION,
            self.binding.block as u32,
            self.binding.height as u32,
            self.binding.width as u32,
        ] {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out.extend_from_slice(&self.seed);
        out
    }

    /// Reads a key file.
    pub fn from_file(path: &Path) -> Result<DisguiseKey> {
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        if meta.len() != FILE_LEN as u64 {
            return Err(Error::InvalidKey(format!(
                "{}: a key file has {FILE_LEN} bytes, this one {}",
                path.display(),
                meta.len()
            )));
        }
        let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| Error::io(path, e))?);
        DisguiseKey::from_bytes(&bytes)
    }

    /// Writes the key to a new file readable by its owner only; an existing
    /// file is never overwritten.
    pub fn write_new(&self, path: &Path) -> Result<()> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(|e| Error::io(path, e))?;
        file.write_all(&self.to_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| Error::io(path, e))
    }

    /// The key's public id: a hash of the seed that names it in a sidecar
    /// without revealing it.
    pub fn id(&self) -> String {
        let mut h = sha2::Sha256::new();
        h.update(b"edgehide disguise key id\0");
        h.update(self.seed);
        hex::encode(&h.finalize()[..ID_HEX / 2])
    }

    /// The block side the key was made for.
    pub fn block(&self) -> u32 {
        self.binding.block as u32
    }

    pub(crate) fn binding(&self) -> KeyBinding {
        self.binding
    }

    /// The matrices and the permutation.
    pub(crate) fn expand(&self) -> Transform {
        let KeyBinding { block: b, .. } = self.binding;
        let (rows, cols) = self.binding.blocks();
        let positions = rows * cols;
        let mut rng = ChaCha20Rng::from_seed(self.seed);
        let mut matrices = Vec::with_capacity(positions * b * b);
        let mut work = Zeroizing::new(vec![0f64; b * b]);
        for _ in 0..positions {
            haar_orthogonal(&mut rng, b, &mut work);
            matrices.extend(work.iter().map(|&v| v as f32));
        }
        // Fisher-Yates: dest[p] is where block position p goes.
        let mut dest: Vec<u32> = (0..positions as u32).collect();
        for i in (1..positions).rev() {
            let j = rng.random_range(0..=i);
            dest.swap(i, j);
        }
        let mut source = vec![0u32; positions];
        for (p, &q) in dest.iter().enumerate() {
            source[q as usize] = p as u32;
        }
        dest.zeroize();
        Transform {
            binding: self.binding,
            cols,
            matrices,
            source,
        }
    }
}

/// A `b x b` orthogonal matrix from the Haar measure, row-major into `m`:
/// Gram-Schmidt on the columns of a Gaussian matrix (R's diagonal is then
/// positive, which is what makes Q Haar-distributed).
fn haar_orthogonal(rng: &mut ChaCha20Rng, b: usize, m: &mut [f64]) {
    loop {
        for v in m.iter_mut() {
            *v = StandardNormal.sample(rng);
        }
        if gram_schmidt_columns(m, b) {
            return;
        }
    }
}

/// Orthonormalises the columns of row-major `m` in place (modified
/// Gram-Schmidt, twice for accuracy); false if they are near dependent.
fn gram_schmidt_columns(m: &mut [f64], b: usize) -> bool {
    for j in 0..b {
        for _ in 0..2 {
            for i in 0..j {
                let dot: f64 = (0..b).map(|r| m[r * b + i] * m[r * b + j]).sum();
                for r in 0..b {
                    m[r * b + j] -= dot * m[r * b + i];
                }
            }
        }
        let norm = (0..b).map(|r| m[r * b + j].powi(2)).sum::<f64>().sqrt();
        if norm.is_nan() || norm <= 1e-6 {
            return false;
        }
        for r in 0..b {
            m[r * b + j] /= norm;
        }
    }
    true
}

/// A key expanded: per block position `p` the matrix `R_p` (row-major,
/// `b x b`), and per output position `q` the source position of the block
/// that lands there. Each block `B` (as a `b x b` matrix) becomes `B R_p`.
#[derive(Zeroize, ZeroizeOnDrop)]
pub(crate) struct Transform {
    #[zeroize(skip)]
    pub binding: KeyBinding,
    /// Block columns per row.
    pub cols: usize,
    pub matrices: Vec<f32>,
    pub source: Vec<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geometry(h: usize, w: usize) -> Geometry {
        Geometry {
            channels: 1,
            height: h,
            width: w,
        }
    }

    #[test]
    fn matrices_are_orthogonal_and_the_permutation_a_permutation() {
        let key = DisguiseKey::from_parts([7; 32], 4, 28, 28).unwrap();
        let t = key.expand();
        let b = 4;
        assert_eq!(t.matrices.len(), 49 * 16);
        for m in t.matrices.chunks_exact(16) {
            for i in 0..b {
                for j in 0..b {
                    let dot: f32 = (0..b).map(|r| m[r * b + i] * m[r * b + j]).sum();
                    let want = if i == j { 1.0 } else { 0.0 };
                    assert!((dot - want).abs() < 1e-5, "{dot} vs {want}");
                }
            }
        }
        let mut seen = t.source.clone();
        seen.sort_unstable();
        assert_eq!(seen, (0..49).collect::<Vec<u32>>());
        assert_ne!(t.source, (0..49).collect::<Vec<u32>>());
    }

    #[test]
    fn key_files_round_trip_and_bad_ones_are_refused() {
        let key = DisguiseKey::generate(4, geometry(28, 28)).unwrap();
        let bytes = key.to_bytes();
        let back = DisguiseKey::from_bytes(&bytes).unwrap();
        assert_eq!(back.id(), key.id());
        assert_eq!(back.binding(), key.binding());
        let debug = format!("{key:?}");
        assert!(debug.contains("redacted") && !debug.contains(&hex::encode(key.seed)));

        let mut bad = bytes.to_vec();
        bad[8] = 2; // version 2
        assert!(
            matches!(DisguiseKey::from_bytes(&bad), Err(Error::InvalidKey(m)) if m.contains("version"))
        );
        assert!(DisguiseKey::from_bytes(&bytes[..FILE_LEN - 1]).is_err());
        let mut magic = bytes.to_vec();
        magic[0] ^= 1;
        assert!(DisguiseKey::from_bytes(&magic).is_err());
        let mut block = bytes.to_vec();
        block[12] = 5; // 5 does not divide 28
        assert!(DisguiseKey::from_bytes(&block).is_err());
        let mut huge = bytes.to_vec();
        huge[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(DisguiseKey::from_bytes(&huge).is_err());
        assert!(DisguiseKey::generate(1, geometry(28, 28)).is_err());
        assert!(DisguiseKey::generate(64, geometry(28, 28)).is_err());
    }

    #[test]
    fn key_files_are_new_and_private() {
        let dir = std::env::temp_dir().join(format!("edgehide-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("k.ehkey");
        let _ = std::fs::remove_file(&path);
        let key = DisguiseKey::generate(7, geometry(28, 28)).unwrap();
        key.write_new(&path).unwrap();
        assert!(key.write_new(&path).is_err(), "never overwritten");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(DisguiseKey::from_file(&path).unwrap().id(), key.id());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
