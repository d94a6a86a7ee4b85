//! `.npy` files (NumPy's format): output streamed so that large datasets
//! never sit in memory twice, and saved encryptions read back.

use std::io::BufWriter;
use std::path::Path;

use npyz::WriterBuilder;

use crate::error::{Error, Result};

/// Reads a float32 `.npy` file that holds exactly `shape` in C order (an
/// encryption `edgehide encrypt` saved). Another element type, shape or
/// order, a truncated file or a non-finite value is an error; nothing
/// beyond `shape` is read.
pub fn read_f32(path: &Path, shape: &[usize]) -> Result<Vec<f32>> {
    let bad = |reason: String| Error::InvalidNpy {
        path: path.to_path_buf(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let npy = npyz::NpyFile::new(std::io::BufReader::new(file)).map_err(|e| bad(e.to_string()))?;
    let want: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
    if npy.shape() != want.as_slice() {
        return Err(bad(format!("shape {:?}, expected {shape:?}", npy.shape())));
    }
    if npy.order() != npyz::Order::C {
        return Err(bad("Fortran order; expected C order".into()));
    }
    let values: Vec<f32> = npy.into_vec().map_err(|e| bad(e.to_string()))?;
    if values.iter().any(|v| !v.is_finite()) {
        return Err(bad("non-finite value".into()));
    }
    Ok(values)
}

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
