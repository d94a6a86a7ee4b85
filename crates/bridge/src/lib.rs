//! The operations a mobile or embedded app calls, written once over the
//! device library for every language bridge (the C ABI in
//! `ios/edgehide-ffi`, the JNI entry points in `android/`): open an
//! encryptor, encrypt a camera frame, connect a client, classify, a video
//! session. A bridge adds only argument checks, panic catching and handles.
//!
//! The stable numeric status codes the bridges report live here too
//! ([`Status`]), so that every language sees the same number for the same
//! failure; the device library's errors carry none.
#![warn(missing_docs)]

mod frame;
pub mod handles;
mod ops;
mod status;

pub use edgehide::client::Classification;
pub use frame::{FrameDesc, FrameFormat, PlaneDesc};
pub use ops::{ClientOptions, Device, Remote, Sidecar, Video, VideoAnswer, version};
pub use status::{BridgeError, Status};

/// Result of a bridge operation.
pub type Result<T, E = BridgeError> = std::result::Result<T, E>;
