//! The lab's errors.

use std::path::PathBuf;

/// Result alias of the lab.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the lab.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The device library refused (a corpus, a sidecar, a frame, a key).
    #[error(transparent)]
    Device(#[from] edgehide::Error),

    /// The model could not be loaded or run.
    #[error(transparent)]
    Model(#[from] edgehide_server::Error),

    /// A dataset name edgehide does not know.
    #[error("unknown dataset {0:?} (fashion-mnist or mnist)")]
    UnknownDataset(String),

    /// A dataset's files do not agree with each other.
    #[error("invalid dataset: {0}")]
    InvalidDataset(String),

    /// An attack's or evaluation's options cannot be run.
    #[error("invalid options: {0}")]
    InvalidOptions(String),

    /// An `.npy` file is not the tensor expected.
    #[error("{}: {reason}", path.display())]
    InvalidNpy {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// A file could not be read or written.
    #[error("{}: {cause}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        cause: std::io::Error,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, cause: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            cause,
        }
    }
}
