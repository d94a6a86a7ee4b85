//! The Open Inference Protocol (KServe v2) REST messages, as the server reads
//! and writes them and the client writes and reads them, including the binary
//! tensor data extension (a JSON header of `Inference-Header-Content-Length`
//! bytes, then the raw little-endian tensors back to back).
//!
//! Everything here parses untrusted bytes: sizes are checked before anything
//! is allocated from them, and every failure is a [`BadMessage`], never a
//! panic (the `fuzz/` target drives [`decode_request`]).

mod tensor;
mod wire;

pub use tensor::{DataType, Tensor};
pub use wire::{
    BadMessage, Encoded, InferRequest, decode_request, decode_response, encode_request,
    encode_response,
};

use serde::{Deserialize, Serialize};

/// The HTTP header of the binary tensor data extension (lower case, as
/// `http` spells header names).
pub const HEADER_LENGTH: &str = "inference-header-content-length";

/// Tensor element type on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Payload {
    #[default]
    F32,
    /// IEEE half precision: half the bytes, each value rounded.
    F16,
}

impl Payload {
    pub fn datatype(self) -> DataType {
        match self {
            Payload::F32 => DataType::Fp32,
            Payload::F16 => DataType::Fp16,
        }
    }
}

impl std::str::FromStr for Payload {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s {
            "f32" => Ok(Payload::F32),
            "f16" => Ok(Payload::F16),
            _ => Err(crate::Error::params(
                "payload",
                format!("expected f32 or f16, got {s:?}"),
            )),
        }
    }
}

/// Name, element type and shape of a model input or output (`-1`: any size).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TensorMetadata {
    pub name: String,
    pub datatype: String,
    pub shape: Vec<i64>,
}

/// `GET /v2/models/{name}`. `parameters` carries the edgehide encryption
/// parameters the model expects (see [`crate::server`]).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ModelMetadata {
    pub name: String,
    #[serde(default)]
    pub versions: Vec<String>,
    pub platform: String,
    pub inputs: Vec<TensorMetadata>,
    pub outputs: Vec<TensorMetadata>,
    #[serde(default)]
    pub parameters: serde_json::Map<String, serde_json::Value>,
}

/// `GET /v2`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ServerMetadata {
    pub name: String,
    pub version: String,
    pub extensions: Vec<String>,
}

/// The body of every error answer: `{"error": "..."}` as the protocol says,
/// plus edgehide's stable numeric code.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u32>,
}
