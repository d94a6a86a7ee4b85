//! The device library's error type. Messages never contain key material or
//! pixel data. (The language bridges map variants to their own stable
//! numeric codes.)

use std::path::PathBuf;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in edgehide.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An encryption parameter is out of its documented range.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParams {
        /// The parameter.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },

    /// A model sidecar (`ModelSpec`) is malformed or inconsistent.
    #[error("invalid model spec: {0}")]
    InvalidSpec(String),

    /// A frame's dimensions, stride or buffer length do not agree.
    #[error("invalid frame: {0}")]
    InvalidFrame(String),

    /// A preprocessed tensor has the wrong shape for the model.
    #[error("tensor shape {got:?} does not match the model's {expected:?}")]
    ShapeMismatch {
        /// The model's `[C, H, W]`.
        expected: [usize; 3],
        /// The tensor's.
        got: [usize; 3],
    },

    /// A value that must be finite is NaN or infinite.
    #[error("non-finite value in {0}")]
    NonFinite(&'static str),

    /// The public pool is empty, corrupt, or does not fit the model.
    #[error("invalid public pool: {0}")]
    InvalidPool(String),

    /// An IDX file (a dataset's images or labels) is corrupt.
    #[error("invalid IDX file: {0}")]
    InvalidIdx(String),

    /// A sidecar or a server names a scheme this build does not know.
    #[error("unknown encryption scheme {0:?}")]
    UnknownScheme(String),

    /// A key was made for another pool or other parameters than the encryptor's.
    #[error("key does not belong to this encryptor: {0}")]
    KeyMismatch(&'static str),

    /// A DisguisedNets key file is malformed (length, magic, version,
    /// block or frame size).
    #[error("invalid disguise key: {0}")]
    InvalidKey(String),

    /// An operation of one scheme was asked of an encryptor of another (a
    /// one-time key for a DisguisedNets model, or a DisguisedNets model
    /// opened without its deployment key).
    #[error("wrong scheme: {0}")]
    SchemeMismatch(String),

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
        /// The file.
        path: PathBuf,
        /// Why.
        cause: std::io::Error,
    },

    /// An image file could not be decoded.
    #[error("cannot decode image {}: {reason}", path.display())]
    ImageDecode {
        /// The file.
        path: PathBuf,
        /// The decoder's reason.
        reason: String,
    },

    /// The GPU backend failed (device lost, out of memory, validation).
    #[error("GPU error: {0}")]
    Gpu(String),

    /// The GPU backend was required but no adapter is available.
    #[error("no GPU adapter available: {0}")]
    NoGpu(String),

    /// The server could not be reached or did not answer in time.
    #[error("transport: {0}")]
    Transport(String),

    /// The server answered with an error status.
    #[error("server answered {status}: {message}")]
    Server {
        /// The HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },

    /// The server's model expects other encryption parameters than this
    /// device's encryptor uses; nothing was sent.
    #[error("server expects other encryption parameters: {0}")]
    ServerMismatch(String),

    /// The server's answer does not follow the protocol.
    #[error("protocol: {0}")]
    Protocol(String),
}

impl Error {
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
