//! edgehide, the device side: private cloud image classification with
//! one-time-key InstaHide (and DisguisedNets, for comparison).
//!
//! A device preprocesses each camera frame to the model's geometry
//! ([`Preprocessor`]), draws a fresh [`OneTimeKey`] from the OS-seeded
//! CSPRNG, and mixes the frame with k-1 keyed crops of a public photo corpus
//! ([`PublicPool`]) before flipping the sign of every element at random
//! ([`Encryptor`], on the GPU through wgpu or on the CPU). Only the
//! [`Encryption`] leaves the device; [`client`] sends it to a remote model
//! and reads the class back.
//!
//! ```no_run
//! use edgehide::{BackendChoice, Encryptor, FrameRef, ModelSpec, PixelFormat, Preprocessor, PublicPool};
//!
//! # fn main() -> edgehide::Result<()> {
//! // The model's sidecar and the corpus it was trained with.
//! let spec = ModelSpec::from_json_file("models/fashion-mnist-k4.json".as_ref())?;
//! let encryptor = Encryptor::new(spec, &PublicPool::bundled()?, BackendChoice::Auto)?;
//! let mut pre = Preprocessor::new(encryptor.spec());
//!
//! // A 640x480 BGRA camera frame, rows 2560 bytes apart.
//! let pixels = vec![0u8; 2560 * 480];
//! let frame = FrameRef::new(&pixels, 640, 480, 2560, PixelFormat::Bgra8)?;
//! let encryption = encryptor.encrypt_fresh(&pre.run(&frame)?)?; // a fresh key, consumed
//! assert_eq!(encryption.shape(), [1, 28, 28]);                  // C x H x W f32, no key material
//! # Ok(())
//! # }
//! ```
//!
//! A model trained on DisguisedNets disguises (the sidecar names the scheme)
//! is opened with its deployment key instead of a corpus:
//! [`Encryptor::with_key`] with a [`DisguiseKey`] read from its key file.
//!
//! Features: `gpu` (wgpu; on by default), `client` (the HTTP client; on by
//! default), `grpc` (the client's gRPC transport), `display` (the sensor's
//! status screen on embedded-graphics), `hazmat` (test and attack access to
//! internals; never in a product build).
//!
//! What this hides, and what it does not, is measured by the project's own
//! attacks (docs/SECURITY.md), never assumed.
#![warn(missing_docs)]

mod backend;
#[cfg(feature = "client")]
pub mod client;
mod color;
#[cfg(feature = "display")]
pub mod display;
mod encrypt;
mod error;
mod frame;
#[cfg(feature = "gpu")]
mod gpu;
#[cfg(feature = "hazmat")]
pub mod hazmat;
mod imageio;
mod params;
pub mod pool;
mod rng;
pub mod scene;
mod scheme;
mod scores;
mod spec;

pub use backend::{Backend, BackendChoice};
pub use encrypt::{Encryption, EncryptionMeta, Encryptor};
pub use error::{Error, Result};
pub use frame::{
    ColorMatrix, ColorRange, FrameRef, MAX_FRAME_SIDE, Orientation, PixelFormat, PlainTensor,
    Plane, Preprocessor, Rotation, YuvFrame, load_image_file,
};
pub use params::{MAX_K, Params, ParamsBuilder};
pub use pool::{PoolImage, PublicPool};
pub use scheme::disguisednets::key::DisguiseKey;
pub use scheme::disguisednets::params::DisguiseParams;
pub use scheme::instahide::PreparedKey;
pub use scheme::instahide::key::OneTimeKey;
pub use scores::softmax;
pub use spec::{Geometry, MAX_MODEL_SIDE, ModelSpec, Scheme};

/// The WGSL source of the InstaHide mix shader.
#[cfg(feature = "gpu")]
pub const MIX_SHADER: &str = scheme::instahide::gpu::MIX_SHADER;

/// The WGSL source of the DisguisedNets block shader.
#[cfg(feature = "gpu")]
pub const DISGUISE_SHADER: &str = scheme::disguisednets::gpu::DISGUISE_SHADER;

/// Whether this build carries the `hazmat` feature (deterministic keys and
/// other test-only access). False in every product build.
pub const HAZMAT: bool = cfg!(feature = "hazmat");
