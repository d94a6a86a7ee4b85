//! edgehide's lab: the datasets, the accuracy evaluation, and the attacks
//! that measure what an encryption leaks. It reads the device library's
//! internals through its `hazmat` feature and never ships to a device.
#![warn(missing_docs)]

#[cfg(feature = "attacks")]
pub mod attack;
pub mod dataset;
mod error;
pub mod eval;
pub mod npy;
pub mod paths;
pub mod picture;
pub mod progress;
pub mod score;

pub use error::{Error, Result};
