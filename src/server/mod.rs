//! The inference server: Open Inference Protocol (KServe v2) REST over axum,
//! ONNX Runtime through [`crate::infer::Model`], dynamic batching per model.
//!
//! It only ever sees encryptions. It logs request sizes and timings, never
//! tensor contents.

mod batcher;
mod routes;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::infer::Model;
use crate::oip::{ModelMetadata, TensorMetadata};
use crate::spec::ModelSpec;

pub use routes::router;

/// The scheme named in each model's metadata; the client refuses a server
/// that names another.
pub const SCHEME: &str = "edgehide-instahide/1";

/// The metadata parameter holding the model's whole sidecar as JSON text.
pub const SPEC_PARAMETER: &str = "edgehide_spec";

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
    /// Requests waiting per model; past it the answer is 503 with Retry-After.
    pub queue: usize,
    /// Largest request body in bytes (413 past it).
    pub max_body_bytes: usize,
    /// Time from arrival to answer before giving up (504).
    pub request_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_batch: 64,
            max_delay: Duration::ZERO,
            queue: 1024,
            max_body_bytes: 16 << 20,
            request_timeout: Duration::from_secs(30),
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

/// The metadata a model is announced with: its tensors and, in
/// `parameters`, the encryption it expects.
pub fn model_metadata(model: &Model) -> ModelMetadata {
    let spec = model.spec();
    let g = spec.geometry();
    ModelMetadata {
        name: spec.name().to_string(),
        versions: vec!["1".into()],
        platform: "onnxruntime_onnx".into(),
        inputs: vec![TensorMetadata {
            name: model.input_name().to_string(),
            datatype: "FP32".into(),
            shape: vec![-1, g.channels as i64, g.height as i64, g.width as i64],
        }],
        outputs: vec![TensorMetadata {
            name: model.output_name().to_string(),
            datatype: "FP32".into(),
            shape: vec![-1, model.classes() as i64],
        }],
        parameters: spec_parameters(spec),
    }
}

/// Protocol parameters are scalars, so lists are written as text and the
/// whole sidecar rides along as one string for clients that check it.
fn spec_parameters(spec: &ModelSpec) -> serde_json::Map<String, serde_json::Value> {
    use serde_json::{Value, json};
    let mut p = serde_json::Map::new();
    p.insert("scheme".into(), json!(SCHEME));
    if let Ok(Value::Object(enc)) = serde_json::to_value(spec.params()) {
        p.extend(enc.into_iter().filter(|(_, v)| !v.is_null()));
    }
    let list = |v: &[f64]| v.iter().map(f64::to_string).collect::<Vec<_>>().join(",");
    p.insert("mean".into(), json!(list(spec.mean())));
    p.insert("std".into(), json!(list(spec.std())));
    if let Some(f) = spec.pool_fingerprint() {
        p.insert("pool_fingerprint".into(), json!(f));
    }
    p.insert(SPEC_PARAMETER.into(), json!(spec.to_json()));
    p
}

/// Builds the state for `models` (names must differ) and starts one batching
/// worker per model on the current tokio runtime.
pub(crate) fn state(models: Vec<Model>, config: ServerConfig) -> Result<Arc<AppState>> {
    let mut map = HashMap::new();
    for model in models {
        let name = model.spec().name().to_string();
        if map.contains_key(&name) {
            return Err(Error::InvalidSpec(format!(
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
        return Err(Error::InvalidSpec("no model to serve".into()));
    }
    Ok(Arc::new(AppState {
        models: map,
        config,
    }))
}

/// Serves `models` on `listener` until `shutdown` completes, then stops
/// accepting and finishes every request already accepted.
pub async fn serve(
    listener: tokio::net::TcpListener,
    models: Vec<Model>,
    config: ServerConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let app = router(models, config)?;
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| Error::Runtime(format!("server: {e}")))
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
