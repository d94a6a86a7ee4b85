//! `.npy` output (NumPy's format), streamed so that large datasets never sit
//! in memory twice.

use std::io::BufWriter;
use std::path::Path;

use npyz::WriterBuilder;

use crate::error::{Error, Result};

/// Writes an encryption as a float32 `.npy` file of shape (C, H, W).
pub fn write_encryption(path: &Path, e: &edgehide::Encryption) -> Result<()> {
    write(path, &e.shape(), e.data().iter().copied())
}

/// Writes `values` (row-major, `shape`) as a float32 or uint8 `.npy` file.
pub fn write<T: npyz::AutoSerialize + Copy>(
    path: &Path,
    shape: &[usize],
    values: impl IntoIterator<Item = T>,
) -> Result<()> {
    let mut w = NpyStream::create(path, shape)?;
    w.extend(values)?;
    w.finish()
}

/// An `.npy` file being written piece by piece.
pub struct NpyStream<T: npyz::AutoSerialize> {
    path: std::path::PathBuf,
    writer: npyz::NpyWriter<T, BufWriter<std::fs::File>>,
}

impl<T: npyz::AutoSerialize + Copy> NpyStream<T> {
    /// Creates the file with its header for `shape`.
    pub fn create(path: &Path, shape: &[usize]) -> Result<Self> {
        let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
        let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
        let writer = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&shape)
            .writer(BufWriter::new(file))
            .begin_nd()
            .map_err(|e| Error::io(path, e))?;
        Ok(NpyStream {
            path: path.to_path_buf(),
            writer,
        })
    }
    /// Appends values in row-major order.
    pub fn extend(&mut self, values: impl IntoIterator<Item = T>) -> Result<()> {
        self.writer
            .extend(values)
            .map_err(|e| Error::io(&self.path, e))
    }
    /// Checks that the shape was filled and flushes.
    pub fn finish(self) -> Result<()> {
        let path = self.path;
        self.writer.finish().map_err(|e| Error::io(&path, e))
    }
}
