//! Stable status codes: what a bridge returns for each kind of failure.
//! Never renumber a code, never reuse a retired one.

/// The outcome of a bridge call, as a number every language can read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
#[non_exhaustive]
pub enum Status {
    /// Success.
    Ok = 0,
    /// A required pointer or reference was null.
    NullPointer = 1,
    /// An argument is out of range (a backend code, a budget, an option).
    InvalidArgument = 2,
    /// A frame's planes do not agree with its size, format or strides, or
    /// it holds a non-finite value.
    InvalidFrame = 3,
    /// A frame format code edgehide does not know.
    UnknownFormat = 4,
    /// A caller's output buffer has the wrong length.
    BufferSize = 5,
    /// The model's sidecar is malformed or names an unknown scheme.
    InvalidSpec = 6,
    /// The public corpus is corrupt, empty, or not the model's.
    InvalidPool = 7,
    /// A file could not be read.
    Io = 8,
    /// The GPU was asked for and there is none.
    NoGpu = 9,
    /// The GPU failed.
    Gpu = 10,
    /// The operating system's random source failed.
    Entropy = 11,
    /// The server could not be reached or did not answer in time.
    Transport = 12,
    /// The server answered with an error status.
    Server = 13,
    /// The server's model expects another encryption; nothing was sent.
    ServerMismatch = 14,
    /// The server's answer does not follow the protocol.
    Protocol = 15,
    /// A call panicked inside the library (a bug); nothing unwound into the
    /// caller.
    Panic = 16,
    /// A handle was used after it was closed.
    ClosedHandle = 17,
    /// A DisguisedNets key file is malformed or not for this model's
    /// geometry.
    InvalidKey = 18,
    /// Anything else (a bug).
    Internal = 99,
}

impl Status {
    /// The code.
    pub fn code(self) -> i32 {
        self as i32
    }

    /// The status a device-library error maps to.
    pub fn of(e: &edgehide::Error) -> Status {
        use edgehide::Error as E;
        match e {
            E::InvalidParams { .. } => Status::InvalidArgument,
            E::InvalidSpec(_)
            | E::UnknownScheme(_)
            | E::SchemeMismatch(_)
            | E::CoefficientsUnsatisfiable(_) => Status::InvalidSpec,
            E::InvalidFrame(_) | E::ShapeMismatch { .. } | E::NonFinite(_) => Status::InvalidFrame,
            E::InvalidPool(_) | E::InvalidIdx(_) => Status::InvalidPool,
            E::InvalidKey(_) => Status::InvalidKey,
            E::Io { .. } | E::ImageDecode { .. } => Status::Io,
            E::NoGpu(_) => Status::NoGpu,
            E::Gpu(_) => Status::Gpu,
            E::Entropy(_) => Status::Entropy,
            E::Transport(_) => Status::Transport,
            E::Server { .. } => Status::Server,
            E::ServerMismatch(_) => Status::ServerMismatch,
            E::Protocol(_) => Status::Protocol,
            _ => Status::Internal,
        }
    }
}

/// A failed bridge call: its status and a message for people (never key
/// material or pixels).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BridgeError {
    /// The stable code.
    pub status: Status,
    /// What went wrong.
    pub message: String,
}

impl BridgeError {
    /// An error of `status` saying `message`.
    pub fn new(status: Status, message: impl Into<String>) -> BridgeError {
        BridgeError {
            status,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for BridgeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for BridgeError {}

impl From<edgehide::Error> for BridgeError {
    fn from(e: edgehide::Error) -> BridgeError {
        BridgeError::new(Status::of(&e), e.to_string())
    }
}
