//! The public corpus that the k-1 public slots of every key are cut from.
//!
//! A corpus is M source images. A key picks an image per slot and a
//! transform, so the number of distinct public images an attacker must
//! consider is far larger than M ([`crate::Encryptor::effective_pool_log2`]).
//!
//! Sources: a directory of PNG/JPEG files, an IDX dataset file (optionally
//! gzipped), or a packed pool file (`.ehpool`, see [`PublicPool::to_packed`]).

mod idx;
mod image;
mod packed;

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::spec::Geometry;

pub use idx::{read_idx, read_idx_labels};
pub use image::PoolImage;

/// Largest side of one corpus image; larger photos should be downscaled with
/// `edgehide pool build --max-side`.
pub const MAX_IMAGE_SIDE: u32 = crate::imageio::DecodeLimits::CORPUS.max_side;
/// Largest number of images in one corpus.
pub const MAX_IMAGES: usize = 4_000_000;
/// Largest total pixel bytes of one corpus (also bounds decompression).
pub const MAX_TOTAL_BYTES: usize = 2 << 30;

const FINGERPRINT_DOMAIN: &[u8] = b"edgehide-pool-v1";

/// A corpus fingerprint as `sha256:<hex>`.
pub(crate) fn fingerprint_hex(fingerprint: &[u8; 32]) -> String {
    format!("sha256:{}", hex::encode(fingerprint))
}

/// A validated, fingerprinted public corpus.
#[derive(Clone)]
pub struct PublicPool {
    images: Vec<PoolImage>,
    fingerprint: [u8; 32],
}

impl std::fmt::Debug for PublicPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicPool")
            .field("images", &self.images.len())
            .field("fingerprint", &self.fingerprint_hex())
            .finish()
    }
}

/// The bundled default corpus (see `assets/POOL-SOURCES.md`).
static BUNDLED: &[u8] = include_bytes!("../../assets/default.ehpool");

impl PublicPool {
    /// Validates and fingerprints a list of images.
    pub fn from_images(images: Vec<PoolImage>) -> Result<PublicPool> {
        if images.is_empty() {
            return Err(Error::InvalidPool("the corpus has no images".into()));
        }
        if images.len() > MAX_IMAGES {
            return Err(Error::InvalidPool(format!("more than {MAX_IMAGES} images")));
        }
        let total: usize = images.iter().map(|i| i.pixels().len()).sum();
        if total > MAX_TOTAL_BYTES {
            return Err(Error::InvalidPool(format!(
                "corpus exceeds {MAX_TOTAL_BYTES} bytes"
            )));
        }
        let mut h = Sha256::new();
        h.update(FINGERPRINT_DOMAIN);
        h.update((images.len() as u64).to_le_bytes());
        for img in &images {
            h.update(img.width().to_le_bytes());
            h.update(img.height().to_le_bytes());
            h.update([img.channels()]);
            h.update(img.pixels());
        }
        let fingerprint: [u8; 32] = h.finalize().into();
        Ok(PublicPool {
            images,
            fingerprint,
        })
    }

    /// The corpus bundled with the crate: photos from Debian wallpaper packages.
    pub fn bundled() -> Result<PublicPool> {
        PublicPool::from_packed(BUNDLED)
    }

    /// The corpus at `path` ([`PublicPool::load`]), or the bundled one.
    pub fn load_or_bundled(path: Option<&Path>) -> Result<PublicPool> {
        match path {
            Some(p) => PublicPool::load(p),
            None => PublicPool::bundled(),
        }
    }

    /// Loads a directory of images, an IDX file, or a packed pool file,
    /// deciding by what is at `path`.
    pub fn load(path: &Path) -> Result<PublicPool> {
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        if meta.is_dir() {
            return PublicPool::load_dir(path);
        }
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        if bytes.starts_with(packed::PACK_MAGIC) {
            PublicPool::from_packed(&bytes)
        } else if idx::is_idx_name(path)
            || bytes.starts_with(&[0x1f, 0x8b])
            || bytes.starts_with(&[0, 0])
        {
            PublicPool::from_images(read_idx(&bytes).map_err(|e| in_file(e, path))?)
        } else {
            let img = image::decode_file(path, &bytes)?;
            PublicPool::from_images(vec![img])
        }
    }

    /// Every PNG and JPEG file directly in `dir`, in file-name order (so the
    /// fingerprint does not depend on the file system's listing order).
    pub fn load_dir(dir: &Path) -> Result<PublicPool> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| Error::io(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file()
                    && p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                        matches!(e.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg")
                    })
            })
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(Error::InvalidPool(format!(
                "no PNG or JPEG files in {}",
                dir.display()
            )));
        }
        let images = files
            .iter()
            .map(|p| {
                let bytes = std::fs::read(p).map_err(|e| Error::io(p, e))?;
                image::decode_file(p, &bytes)
            })
            .collect::<Result<Vec<_>>>()?;
        PublicPool::from_images(images)
    }

    /// M, the number of source images.
    pub fn len(&self) -> usize {
        self.images.len()
    }
    /// Never true: an empty corpus is rejected on construction.
    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
    }
    /// The source images.
    pub fn images(&self) -> &[PoolImage] {
        &self.images
    }
    /// SHA-256 over the decoded pixels (not the container).
    pub fn fingerprint(&self) -> [u8; 32] {
        self.fingerprint
    }
    /// The fingerprint as `sha256:<hex>`, the form sidecars store.
    pub fn fingerprint_hex(&self) -> String {
        fingerprint_hex(&self.fingerprint)
    }

    /// Errors unless every image is at least the model's size.
    pub fn check_for(&self, geometry: Geometry) -> Result<()> {
        for (i, img) in self.images.iter().enumerate() {
            if (img.width() as usize) < geometry.width || (img.height() as usize) < geometry.height
            {
                return Err(Error::InvalidPool(format!(
                    "image {i} is {}x{}, smaller than the model's {}x{}",
                    img.width(),
                    img.height(),
                    geometry.width,
                    geometry.height
                )));
            }
        }
        Ok(())
    }
}

fn in_file(e: Error, path: &Path) -> Error {
    match e {
        Error::InvalidIdx(m) => Error::InvalidIdx(format!("{}: {m}", path.display())),
        other => other,
    }
}

/// `n` grey `side` x `side` images of one value each, for unit tests.
#[cfg(test)]
pub(crate) fn tiny(n: usize, side: u32) -> PublicPool {
    let imgs = (0..n)
        .map(|i| PoolImage::new(side, side, 1, vec![i as u8; (side * side) as usize]).unwrap())
        .collect();
    PublicPool::from_images(imgs).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_round_trip_keeps_fingerprint() {
        let p = tiny(3, 30);
        let back = PublicPool::from_packed(&p.to_packed().unwrap()).unwrap();
        assert_eq!(p.fingerprint(), back.fingerprint());
        assert_eq!(back.len(), 3);
    }

    #[test]
    fn corrupt_packs_are_errors() {
        let good = tiny(2, 30).to_packed().unwrap();
        for cut in [0, 5, 8, 11, 12, 20, good.len() - 1] {
            assert!(
                matches!(
                    PublicPool::from_packed(&good[..cut]),
                    Err(Error::InvalidPool(_))
                ),
                "cut {cut}"
            );
        }
        let mut flipped = good.clone();
        flipped[40] ^= 0xff;
        assert!(PublicPool::from_packed(&flipped).is_err());
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(PublicPool::from_packed(&trailing).is_err());
    }

    #[test]
    fn idx_nan_and_truncation_are_errors() {
        let mut idx = vec![0, 0, 0x0D, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2];
        for v in [0.5f32, f32::NAN, 0.1, 0.2] {
            idx.extend_from_slice(&v.to_be_bytes());
        }
        assert!(matches!(read_idx(&idx), Err(Error::NonFinite(_))));
        assert!(read_idx(&idx[..idx.len() - 1]).is_err());
        let ok = [0u8, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 7, 9];
        let imgs = read_idx(&ok).unwrap();
        assert_eq!(imgs[0].pixels(), &[7, 9]);
    }

    #[test]
    fn small_images_and_empty_pools_are_rejected() {
        assert!(PublicPool::from_images(vec![]).is_err());
        let g = Geometry {
            channels: 1,
            height: 28,
            width: 28,
        };
        assert!(tiny(1, 27).check_for(g).is_err());
        assert!(tiny(1, 28).check_for(g).is_ok());
    }
}
