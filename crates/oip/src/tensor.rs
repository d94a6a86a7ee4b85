//! Tensor element types and the conversion of raw little-endian bytes.

use half::f16;

/// The element types edgehide sends and accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DataType {
    /// `FP32`.
    Fp32,
    /// `FP16`.
    Fp16,
}

impl DataType {
    /// The protocol's name of the type.
    pub fn as_str(self) -> &'static str {
        match self {
            DataType::Fp32 => "FP32",
            DataType::Fp16 => "FP16",
        }
    }
    /// The type the protocol's name stands for, if edgehide handles it.
    pub fn parse(s: &str) -> Option<DataType> {
        match s {
            "FP32" => Some(DataType::Fp32),
            "FP16" => Some(DataType::Fp16),
            _ => None,
        }
    }
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            DataType::Fp32 => 4,
            DataType::Fp16 => 2,
        }
    }

    /// Raw little-endian bytes to f32 (`bytes.len()` is a multiple of `size`).
    pub(crate) fn decode(self, bytes: &[u8]) -> Vec<f32> {
        match self {
            DataType::Fp32 => bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            DataType::Fp16 => bytes
                .chunks_exact(2)
                .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
        }
    }

    /// f32 values to raw little-endian bytes, appended to `out`.
    pub(crate) fn encode(self, values: &[f32], out: &mut Vec<u8>) {
        out.reserve(values.len() * self.size());
        match self {
            DataType::Fp32 => values
                .iter()
                .for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
            DataType::Fp16 => values
                .iter()
                .for_each(|v| out.extend_from_slice(&f16::from_f32(*v).to_le_bytes())),
        }
    }
}

/// A decoded tensor: its name, shape and values (as f32, whatever the wire
/// type was).
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    /// The tensor's name.
    pub name: String,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its element type on the wire.
    pub datatype: DataType,
    /// Its values, row-major.
    pub data: Vec<f32>,
}
