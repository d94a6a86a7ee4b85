//! The server's errors.

use std::path::PathBuf;

/// Result alias of the server crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while loading or serving a model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// ONNX Runtime could not be loaded or failed to run a model.
    #[error("ONNX Runtime: {0}")]
    Runtime(String),

    /// A model does not match its sidecar (input shape, classes).
    #[error("model does not match its sidecar: {0}")]
    ModelMismatch(String),

    /// A model's sidecar could not be read or is invalid.
    #[error(transparent)]
    Sidecar(#[from] edgehide::Error),

    /// A model file could not be read.
    #[error("{}: {cause}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        cause: std::io::Error,
    },

    /// The models or settings handed to the server cannot be served.
    #[error("invalid server configuration: {0}")]
    Config(String),

    /// A batch handed to a model does not have the model's shape or holds
    /// non-finite values.
    #[error("invalid model input: {0}")]
    Input(String),

    /// The model produced a value that is not finite.
    #[error("the model produced a non-finite score")]
    NonFiniteOutput,

    /// The listener failed while serving.
    #[error("listener: {0}")]
    Listener(String),
}

pub(crate) fn rt(e: impl std::fmt::Display) -> Error {
    Error::Runtime(e.to_string())
}
