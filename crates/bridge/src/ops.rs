//! The operations, one function each.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use edgehide::client::{Classification, Client, ClientConfig, FrameAnswer, VideoSession};
use edgehide::scene::SceneConfig;
use edgehide::{
    BackendChoice, DisguiseKey, Encryptor, ModelSpec, Preprocessor, PublicPool, Scheme,
};

use crate::{BridgeError, FrameDesc, Result, Status};

/// The library's version.
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// Where a model's sidecar comes from.
#[derive(Clone, Copy, Debug)]
pub enum Sidecar<'a> {
    /// The sidecar's JSON text (e.g. bundled with the app).
    Json(&'a str),
    /// A path to the sidecar file.
    Path(&'a Path),
}

impl<'a> Sidecar<'a> {
    /// The sidecar from exactly one of its text and its path, as a bridge
    /// receives them.
    pub fn one_of(json: Option<&'a str>, path: Option<&'a str>) -> Result<Sidecar<'a>> {
        match (json, path) {
            (Some(j), None) => Ok(Sidecar::Json(j)),
            (None, Some(p)) => Ok(Sidecar::Path(Path::new(p))),
            _ => Err(BridgeError::new(
                Status::InvalidArgument,
                "give exactly one of the sidecar's JSON and its path",
            )),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> Result<std::sync::MutexGuard<'_, T>> {
    m.lock()
        .map_err(|_| BridgeError::new(Status::Internal, "a previous call panicked"))
}

/// An encryptor and a preprocessor for its model: what a device needs to
/// turn camera frames into encryptions.
pub struct Device {
    encryptor: Arc<Encryptor>,
    pre: Mutex<Preprocessor>,
}

impl Device {
    /// Opens an encryptor for `sidecar`'s InstaHide model with the corpus at
    /// `pool` (the bundled one when `None`), on backend 0 auto, 1 CPU or 2
    /// GPU.
    pub fn open(sidecar: Sidecar<'_>, pool: Option<&Path>, backend: u32) -> Result<Device> {
        let (spec, choice) = (read_sidecar(sidecar)?, backend_choice(backend)?);
        if spec.scheme() == Scheme::DisguisedNets {
            return Err(BridgeError::new(
                Status::InvalidSpec,
                "this model is DisguisedNets: open it with its deployment key (the keyed open)",
            ));
        }
        let pool = PublicPool::load_or_bundled(pool)?;
        Ok(Device::with(Encryptor::new(spec, &pool, choice)?))
    }

    /// Opens an encryptor for `sidecar`'s DisguisedNets model with the
    /// deployment key in the file at `key` (read here into memory the
    /// encryptor wipes: no buffer of the caller's ever holds the key), on
    /// backend 0 auto, 1 CPU or 2
    /// GPU.
    pub fn open_keyed(sidecar: Sidecar<'_>, key: &Path, backend: u32) -> Result<Device> {
        let (spec, choice) = (read_sidecar(sidecar)?, backend_choice(backend)?);
        let key = DisguiseKey::from_file(key)?;
        Ok(Device::with(Encryptor::with_key(spec, key, choice)?))
    }

    fn with(encryptor: Encryptor) -> Device {
        let pre = Mutex::new(Preprocessor::new(encryptor.spec()));
        Device {
            encryptor: Arc::new(encryptor),
            pre,
        }
    }

    /// The encryptor.
    pub fn encryptor(&self) -> &Encryptor {
        &self.encryptor
    }

    /// Values per encryption (C x H x W).
    pub fn output_len(&self) -> usize {
        self.encryptor.spec().geometry().len()
    }

    /// Preprocesses `frame` and encrypts it with a fresh one-time key into
    /// `out` (exactly [`Device::output_len`] values).
    pub fn encrypt(&self, frame: &FrameDesc<'_>, out: &mut [f32]) -> Result<()> {
        if out.len() != self.output_len() {
            return Err(BridgeError::new(
                Status::BufferSize,
                format!(
                    "the output buffer holds {} floats, an encryption has {}",
                    out.len(),
                    self.output_len()
                ),
            ));
        }
        let x = frame.preprocess(&mut *lock(&self.pre)?)?;
        Ok(self
            .encryptor
            .encrypt_fresh_into(std::slice::from_ref(&x), out)?)
    }
}

fn read_sidecar(sidecar: Sidecar<'_>) -> Result<ModelSpec> {
    Ok(match sidecar {
        Sidecar::Json(text) => ModelSpec::from_json(text)?,
        Sidecar::Path(p) => ModelSpec::from_json_file(p)?,
    })
}

fn backend_choice(backend: u32) -> Result<BackendChoice> {
    match backend {
        0 => Ok(BackendChoice::Auto),
        1 => Ok(BackendChoice::Cpu),
        2 => Ok(BackendChoice::Gpu),
        other => Err(BridgeError::new(
            Status::InvalidArgument,
            format!("backend code {other} is not 0 (auto), 1 (CPU) or 2 (GPU)"),
        )),
    }
}

/// Client settings a bridge passes.
#[derive(Clone, Debug, Default)]
pub struct ClientOptions {
    /// Per attempt; 0 for the default (10 s).
    pub timeout_ms: u32,
    /// Further attempts after a transport failure, 503 or 504.
    pub retries: u32,
    /// Labels returned per frame; 0 for the default (3).
    pub top_k: u32,
    /// Send half-precision values.
    pub f16: bool,
    /// Extra trusted roots for https (PEM text).
    pub tls_roots_pem: Option<Vec<u8>>,
}

/// A client connected to one model on one server, with its own
/// preprocessor.
pub struct Remote {
    client: Client,
    pre: Mutex<Preprocessor>,
}

impl Remote {
    /// Connects to `model` on the server at `url` and checks that it
    /// expects what `device` encrypts.
    pub fn connect(url: &str, model: &str, device: &Device, opts: ClientOptions) -> Result<Remote> {
        let mut config = ClientConfig::default();
        if opts.timeout_ms > 0 {
            config.timeout = Duration::from_millis(opts.timeout_ms as u64);
        }
        config.retries = opts.retries;
        if opts.top_k > 0 {
            config.top_k = opts.top_k as usize;
        }
        if opts.f16 {
            config.payload = edgehide::client::Payload::F16;
        }
        config.tls_roots_pem = opts.tls_roots_pem;
        let client = Client::connect(url, model, device.encryptor.clone(), config)?;
        let pre = Mutex::new(Preprocessor::new(device.encryptor.spec()));
        Ok(Remote { client, pre })
    }

    /// The server model's label of class `index`.
    pub fn label(&self, index: usize) -> Option<String> {
        self.client.remote_spec().labels().get(index).cloned()
    }

    /// Preprocesses, encrypts with a fresh key, sends, classifies.
    pub fn classify(&self, frame: &FrameDesc<'_>) -> Result<Classification> {
        let x = frame.preprocess(&mut *lock(&self.pre)?)?;
        Ok(self.client.classify(&x)?)
    }
}

/// What a video frame got under the scene budget.
#[derive(Clone, Debug, PartialEq)]
pub enum VideoAnswer {
    /// Encrypted and classified.
    Fresh(Classification),
    /// The scene's budget was spent: nothing sent, the scene's last answer.
    Reused(Classification),
    /// The scene's budget was spent and it has no answer yet.
    Withheld,
}

/// A video session: the scene budget over a stream of frames.
pub struct Video {
    session: Mutex<VideoSession>,
}

impl Video {
    /// At most `budget` encryptions per scene per `window_s` seconds (0: the
    /// defaults, 1 per hour).
    pub fn new(budget: u32, window_s: u32) -> Video {
        let mut config = SceneConfig::default();
        if budget > 0 {
            config.budget = budget as usize;
        }
        if window_s > 0 {
            config.window = Duration::from_secs(window_s as u64);
        }
        Video {
            session: Mutex::new(VideoSession::new(config)),
        }
    }

    /// Classifies `frame` through `remote`, or reuses its scene's answer.
    pub fn classify(&self, remote: &Remote, frame: &FrameDesc<'_>) -> Result<VideoAnswer> {
        let x = frame.preprocess(&mut *lock(&remote.pre)?)?;
        let mut session = lock(&self.session)?;
        Ok(
            match remote.client.classify_video_frame(&mut session, &x)? {
                FrameAnswer::Fresh(c) => VideoAnswer::Fresh(c),
                FrameAnswer::Reused(c) => VideoAnswer::Reused(c),
                FrameAnswer::Withheld => VideoAnswer::Withheld,
            },
        )
    }
}
