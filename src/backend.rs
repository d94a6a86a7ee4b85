//! Which processor encrypts: the choice a caller makes, and what it got.

use crate::error::{Error, Result};

/// Which backend to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum BackendChoice {
    /// The CPU fast path.
    Cpu,
    /// The GPU; an error if no adapter can be opened (or the build has no
    /// `gpu` feature).
    Gpu,
    /// The GPU if an adapter can be opened, else the CPU (see
    /// [`crate::Encryptor::fallback_reason`]).
    #[default]
    Auto,
}

impl std::str::FromStr for BackendChoice {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "cpu" => Ok(BackendChoice::Cpu),
            "gpu" => Ok(BackendChoice::Gpu),
            "auto" => Ok(BackendChoice::Auto),
            _ => Err(Error::params(
                "backend",
                format!("expected cpu, gpu or auto, got {s:?}"),
            )),
        }
    }
}

/// The backend an encryptor actually runs on.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Backend {
    /// The CPU fast path (AVX-512 where the CPU has it, else portable code).
    Cpu,
    /// The GPU: the adapter's name and graphics API.
    Gpu(String),
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Backend::Cpu => f.write_str("cpu"),
            Backend::Gpu(name) => write!(f, "gpu: {name}"),
        }
    }
}

/// Without the `gpu` feature: the CPU, an error for `Gpu`, and for `Auto`
/// the reason it fell back.
#[cfg(not(feature = "gpu"))]
pub(crate) fn cpu_only(choice: BackendChoice) -> Result<Option<String>> {
    const NO_GPU_FEATURE: &str = "this build has no GPU support (the `gpu` feature is off)";
    match choice {
        BackendChoice::Cpu => Ok(None),
        BackendChoice::Gpu => Err(Error::NoGpu(NO_GPU_FEATURE.into())),
        BackendChoice::Auto => Ok(Some(NO_GPU_FEATURE.to_string())),
    }
}
