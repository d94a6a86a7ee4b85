//! Labelled datasets read from local IDX files (no download at run time).

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::frame::{FrameRef, PixelFormat, PlainTensor, Preprocessor};
use crate::pool::{PoolImage, gunzip_bounded, read_idx};

/// Where Debian's `dataset-fashion-mnist` package puts Fashion-MNIST.
pub const FASHION_MNIST_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// A split of a labelled image dataset.
#[derive(Debug)]
pub struct Dataset {
    pub images: Vec<PoolImage>,
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
                pre.run(&FrameRef::packed(
                    img.pixels(),
                    img.width(),
                    img.height(),
                    format,
                )?)
            })
            .collect()
    }
}

/// Train or test split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    Train,
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

/// Loads Fashion-MNIST from `dir` (default: Debian's location).
pub fn fashion_mnist(dir: Option<&Path>, split: Split) -> Result<Dataset> {
    let dir = dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(FASHION_MNIST_DIR));
    let images = dir.join(format!("{}-images-idx3-ubyte.gz", split.prefix()));
    let labels = dir.join(format!("{}-labels-idx1-ubyte.gz", split.prefix()));
    let read = |p: &Path| {
        std::fs::read(p).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::io(
                p,
                std::io::Error::new(
                    e.kind(),
                    "not found; install it with `apt-get install dataset-fashion-mnist`",
                ),
            ),
            _ => Error::io(p, e),
        })
    };
    let imgs = read_idx(&read(&images)?)?;
    let labs = read_idx_labels(&read(&labels)?)?;
    if imgs.len() != labs.len() {
        return Err(Error::InvalidPool(format!(
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

/// Reads a 1-dimensional u8 IDX file (labels), gzipped or not.
pub fn read_idx_labels(bytes: &[u8]) -> Result<Vec<u8>> {
    let data = gunzip_bounded(bytes, 1 << 30)?;
    let data: &[u8] = &data;
    let bad = |why: &str| Error::InvalidPool(format!("corrupt IDX label file: {why}"));
    let header: [u8; 4] = data
        .get(..4)
        .and_then(|h| h.try_into().ok())
        .ok_or_else(|| bad("truncated"))?;
    if header != [0, 0, 8, 1] {
        return Err(bad("expected u8 data with one dimension"));
    }
    let n = data
        .get(4..8)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| bad("truncated"))?;
    let body = &data[8..];
    if body.len() != n as usize {
        return Err(bad("length does not match the header"));
    }
    Ok(body.to_vec())
}
