//! edgehide: private cloud image classification with one-time-key InstaHide.
//!
//! A device preprocesses each camera frame to the model's geometry
//! ([`frame`]), draws a fresh [`OneTimeKey`] from the OS-seeded CSPRNG, and
//! mixes the frame with k-1 keyed crops of a public photo corpus
//! ([`PublicPool`]) before flipping the sign of every element at random
//! ([`Encryptor`], on the GPU through wgpu or on the CPU). Only the
//! [`Encryption`] leaves the device.
//!
//! What this hides, and what it does not, is measured by the project's own
//! attacks (docs/SECURITY.md), never assumed.

pub mod attack;
pub mod client;
pub mod dataset;
pub mod encrypt;
pub mod error;
pub mod eval;
pub mod frame;
mod imageio;
pub mod infer;
pub mod key;
pub mod npy;
pub mod oip;
pub mod params;
pub mod picture;
pub mod pool;
mod rng;
pub mod scene;
pub mod server;
pub mod spec;

pub use encrypt::{Backend, BackendChoice, Encryption, EncryptionMeta, Encryptor, PreparedKey};
pub use error::{Error, Result};
pub use frame::{FrameRef, PixelFormat, PlainTensor, Preprocessor};
pub use key::OneTimeKey;
pub use params::{Params, ParamsBuilder};
pub use pool::{PoolImage, PublicPool};
pub use spec::{Geometry, ModelSpec};

/// Whether this build can construct deterministic (insecure) keys. False in
/// every product build.
pub const INSECURE_TEST_KEYS: bool = cfg!(feature = "insecure-test-keys");
