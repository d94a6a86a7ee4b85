//! edgehide's embedded inference server: Open Inference Protocol (KServe v2)
//! REST over axum, ONNX Runtime through [`Model`], dynamic batching per
//! model.
//!
//! It only ever sees encryptions. It logs request sizes and timings, never
//! tensor contents.
#![warn(missing_docs)]

mod batcher;
mod error;
mod grpc;
mod infer;
mod listener;
mod metadata;
mod model;
mod rebuild;
mod routes;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use edgehide_oip::ModelMetadata;

pub use error::{Error, Result};
pub use metadata::model_metadata;
pub use model::{Model, Runtime};
pub use rebuild::Rebuilder;
pub use routes::router;

/// Server settings.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Frames per inference; 1 turns batching off.
    pub max_batch: usize,
    /// How long a request may wait for others to share its batch. The default
    /// 0 still batches under load: whatever queued up while the previous
    /// batch ran goes into the next one, and a lone request never waits.
    pub max_delay: Duration,
    /// Requests waiting or running per model; past it the answer is 503 with
    /// Retry-After.
    pub queue: usize,
    /// Largest request body in bytes (413 past it).
    pub max_body_bytes: usize,
    /// Time from arrival to answer before giving up (504).
    pub request_timeout: Duration,
    /// Frames one request may carry (413 past it); `None`: `max_batch`.
    pub max_frames: Option<usize>,
    /// Largest magnitude an input value may have (400 past it). An
    /// encryption of a normalised frame stays within a few units; values far
    /// outside are not encryptions and can drive a model's arithmetic to
    /// infinity.
    pub max_abs_input: f32,
    /// Time a connection has to send a request's headers; also how long an
    /// idle keep-alive connection stays open.
    pub header_timeout: Duration,
    /// Time a request's body has to arrive in full (408 past it).
    pub body_timeout: Duration,
    /// Connections open at once per listener (REST, and gRPC when served);
    /// more wait in the accept backlog.
    pub max_connections: usize,
    /// How long a shutdown waits for requests already received.
    pub shutdown_grace: Duration,
}

impl ServerConfig {
    /// Frames one request may carry.
    pub fn frames_per_request(&self) -> usize {
        self.max_frames.unwrap_or(self.max_batch).max(1)
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_batch: 64,
            max_delay: Duration::ZERO,
            queue: 1024,
            max_body_bytes: 16 << 20,
            request_timeout: Duration::from_secs(30),
            max_frames: None,
            max_abs_input: 1e4,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            max_connections: 1024,
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

pub(crate) struct Served {
    pub(crate) model: Arc<Model>,
    pub(crate) metadata: ModelMetadata,
    pub(crate) batcher: batcher::Batcher,
}

pub(crate) struct AppState {
    pub(crate) models: HashMap<String, Served>,
    pub(crate) config: ServerConfig,
}

/// Builds the state for `models` (names must differ) and starts one batching
/// worker per model on the current tokio runtime.
pub(crate) fn state(models: Vec<Model>, config: ServerConfig) -> Result<Arc<AppState>> {
    let mut map = HashMap::new();
    for model in models {
        let name = model.spec().name().to_string();
        if map.contains_key(&name) {
            return Err(Error::Config(format!(
                "two models are named {name:?}; names must differ"
            )));
        }
        let model = Arc::new(model);
        let served = Served {
            metadata: model_metadata(&model),
            batcher: batcher::Batcher::start(
                model.clone(),
                config.max_batch,
                config.max_delay,
                config.queue,
            ),
            model,
        };
        map.insert(name, served);
    }
    if map.is_empty() {
        return Err(Error::Config("no model to serve".into()));
    }
    Ok(Arc::new(AppState {
        models: map,
        config,
    }))
}

/// Serves `models` on `listener` until `shutdown` completes, then stops
/// accepting, finishes every request already received in full (within
/// `config.shutdown_grace`) and returns.
pub async fn serve(
    listener: tokio::net::TcpListener,
    models: Vec<Model>,
    config: ServerConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    serve_with_grpc(listener, None, models, config, shutdown).await
}

/// [`serve`], with the protocol's gRPC service on `grpc` too (HTTP/2),
/// over the same models, batchers and limits.
pub async fn serve_with_grpc(
    listener: tokio::net::TcpListener,
    grpc: Option<tokio::net::TcpListener>,
    models: Vec<Model>,
    config: ServerConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let state = state(models, config.clone())?;
    let app = routes::router_for(state.clone(), &config);
    let Some(grpc) = grpc else {
        return listener::run(listener, app, listener::Http::One, &config, shutdown).await;
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop.send(true);
    });
    let signal = move || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|s| *s).await;
        }
    };
    let service = tonic::service::Routes::new(grpc::service(state)).into_axum_router();
    let (rest, grpc) = tokio::join!(
        listener::run(listener, app, listener::Http::One, &config, signal()),
        listener::run(grpc, service, listener::Http::Two, &config, signal()),
    );
    rest.and(grpc)
}

/// Completes on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing accepted requests");
}
