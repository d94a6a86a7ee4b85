//! The Open Inference Protocol (KServe v2) REST messages, as the server reads
//! and writes them and the client writes and reads them, including the binary
//! tensor data extension (a JSON header of `Inference-Header-Content-Length`
//! bytes, then the raw little-endian tensors back to back).
//!
//! Everything here parses untrusted bytes: sizes are checked before anything
//! is allocated from them, and every failure is a [`BadMessage`], never a
//! panic (the `fuzz/` target drives [`decode_request`]).
//!
//! This crate has no HTTP stack: the server and the client each bring their
//! own and share these messages, codecs and constants.
#![warn(missing_docs)]

#[cfg(feature = "grpc")]
pub mod grpc;
mod tensor;
mod wire;

pub use tensor::{DataType, Tensor};
pub use wire::{
    BadMessage, Encoded, InferRequest, decode_request, decode_response, encode_request,
    encode_request_for, encode_response,
};

use serde::{Deserialize, Serialize};

/// The HTTP header of the binary tensor data extension (lower case, as
/// `http` spells header names).
pub const HEADER_LENGTH: &str = "inference-header-content-length";

/// The model-metadata parameter naming the encryption scheme a model expects
/// (its value is the scheme's wire name, e.g. `"edgehide-instahide/1"`).
pub const SCHEME_PARAMETER: &str = "scheme";

/// The model-metadata parameter holding the model's whole sidecar as JSON
/// text.
pub const SPEC_PARAMETER: &str = "edgehide_spec";

/// Reads an `Inference-Header-Content-Length` value (the header's bytes, as
/// an HTTP stack hands them over).
pub fn parse_header_length(value: &[u8]) -> Result<usize, BadMessage> {
    std::str::from_utf8(value)
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok())
        .ok_or_else(|| BadMessage("Inference-Header-Content-Length is not a number".into()))
}

/// Tensor element type on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Payload {
    /// IEEE single precision.
    #[default]
    F32,
    /// IEEE half precision: half the bytes, each value rounded.
    F16,
}

impl Payload {
    /// The protocol's element type for this payload.
    pub fn datatype(self) -> DataType {
        match self {
            Payload::F32 => DataType::Fp32,
            Payload::F16 => DataType::Fp16,
        }
    }
    /// The value a receiver reads for `v` sent in this payload.
    pub fn round_trip(self, v: f32) -> f32 {
        match self {
            Payload::F32 => v,
            Payload::F16 => half::f16::from_f32(v).to_f32(),
        }
    }
}

impl std::str::FromStr for Payload {
    type Err = BadMessage;
    fn from_str(s: &str) -> Result<Self, BadMessage> {
        match s {
            "f32" => Ok(Payload::F32),
            "f16" => Ok(Payload::F16),
            _ => Err(BadMessage(format!(
                "payload: expected f32 or f16, got {s:?}"
            ))),
        }
    }
}

/// Name, element type and shape of a model input or output (`-1`: any size).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TensorMetadata {
    /// The tensor's name.
    pub name: String,
    /// The protocol's element type (`"FP32"`, ...).
    pub datatype: String,
    /// The shape; `-1` for any size.
    pub shape: Vec<i64>,
}

/// `GET /v2/models/{name}`. On edgehide's server `parameters` carries the
/// encryption the model expects ([`SCHEME_PARAMETER`], [`SPEC_PARAMETER`]).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ModelMetadata {
    /// The model's name.
    pub name: String,
    /// Its versions.
    #[serde(default, deserialize_with = "null_as_default")]
    pub versions: Vec<String>,
    /// The runtime serving it (`"onnxruntime_onnx"`, ...); some servers
    /// leave it out.
    #[serde(default, deserialize_with = "null_as_default")]
    pub platform: String,
    /// Its inputs.
    #[serde(default, deserialize_with = "null_as_default")]
    pub inputs: Vec<TensorMetadata>,
    /// Its outputs; some servers leave them out.
    #[serde(default, deserialize_with = "null_as_default")]
    pub outputs: Vec<TensorMetadata>,
    /// Extra, server-specific parameters.
    #[serde(default, deserialize_with = "null_as_default")]
    pub parameters: serde_json::Map<String, serde_json::Value>,
}

/// A field some servers send as `null` and others leave out: both read as
/// empty.
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `GET /v2`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ServerMetadata {
    /// The server's name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// The protocol extensions it supports.
    #[serde(default, deserialize_with = "null_as_default")]
    pub extensions: Vec<String>,
}

/// The body of every error answer: `{"error": "..."}` as the protocol says.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong, for the sender.
    pub error: String,
}
