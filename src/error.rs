//! The crate's one error type.
//!
//! Every variant has a stable numeric code (`Error::code`) so that the C and
//! JNI bridges can report it without parsing strings. Messages never contain
//! key material or pixel data.

use std::path::PathBuf;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in edgehide.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An encryption parameter is out of its documented range.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParams { name: &'static str, reason: String },

    /// A model sidecar (`ModelSpec`) is malformed or inconsistent.
    #[error("invalid model spec: {0}")]
    InvalidSpec(String),

    /// A frame's dimensions, stride or buffer length do not agree.
    #[error("invalid frame: {0}")]
    InvalidFrame(String),

    /// A preprocessed tensor has the wrong shape for the model.
    #[error("tensor shape {got:?} does not match the model's {expected:?}")]
    ShapeMismatch {
        expected: [usize; 3],
        got: [usize; 3],
    },

    /// A value that must be finite is NaN or infinite.
    #[error("non-finite value in {0}")]
    NonFinite(&'static str),

    /// The public pool is empty, corrupt, or does not fit the model.
    #[error("invalid public pool: {0}")]
    InvalidPool(String),

    /// A key was made for another pool or other parameters than the encryptor's.
    #[error("key does not belong to this encryptor: {0}")]
    KeyMismatch(&'static str),

    /// The operating system's random source failed.
    #[error("operating system randomness unavailable: {0}")]
    Entropy(String),

    /// No coefficient vector within the bounds was found in the allowed number
    /// of draws (the bounds are too tight to be useful).
    #[error("could not draw coefficients within the bounds after {0} attempts")]
    CoefficientsUnsatisfiable(u32),

    /// A file could not be read or written.
    // The cause is in the message, not a `#[source]`, so that error chains
    // (anyhow's `{:#}`) do not print it twice.
    #[error("{}: {cause}", path.display())]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },

    /// An image file could not be decoded.
    #[error("cannot decode image {}: {reason}", path.display())]
    ImageDecode { path: PathBuf, reason: String },

    /// The GPU backend failed (device lost, out of memory, validation).
    #[error("GPU error: {0}")]
    Gpu(String),

    /// The GPU backend was required but no adapter is available.
    #[error("no GPU adapter available: {0}")]
    NoGpu(String),

    /// ONNX Runtime could not be loaded or failed to run a model.
    #[error("ONNX Runtime: {0}")]
    Runtime(String),

    /// A model does not match its sidecar (input shape, classes).
    #[error("model does not match its sidecar: {0}")]
    ModelMismatch(String),

    /// The server could not be reached or did not answer in time.
    #[error("transport: {0}")]
    Transport(String),

    /// The server answered with an error status.
    #[error("server answered {status}: {message}")]
    Server { status: u16, message: String },

    /// The server's model expects other encryption parameters than this
    /// device's encryptor uses; nothing was sent.
    #[error("server expects other encryption parameters: {0}")]
    ServerMismatch(String),

    /// The server's answer does not follow the protocol.
    #[error("protocol: {0}")]
    Protocol(String),
}

impl Error {
    /// A stable number per variant, for the language bridges. Never reuse a
    /// retired number.
    pub fn code(&self) -> u32 {
        match self {
            Error::InvalidParams { .. } => 1,
            Error::InvalidSpec(_) => 2,
            Error::InvalidFrame(_) => 3,
            Error::ShapeMismatch { .. } => 4,
            Error::NonFinite(_) => 5,
            Error::InvalidPool(_) => 6,
            Error::KeyMismatch(_) => 7,
            Error::Entropy(_) => 8,
            Error::CoefficientsUnsatisfiable(_) => 9,
            Error::Io { .. } => 10,
            Error::ImageDecode { .. } => 11,
            Error::Gpu(_) => 12,
            Error::NoGpu(_) => 13,
            Error::Runtime(_) => 14,
            Error::ModelMismatch(_) => 15,
            Error::Transport(_) => 16,
            Error::Server { .. } => 17,
            Error::ServerMismatch(_) => 18,
            Error::Protocol(_) => 19,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, cause: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            cause,
        }
    }

    pub(crate) fn params(name: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidParams {
            name,
            reason: reason.into(),
        }
    }
}
