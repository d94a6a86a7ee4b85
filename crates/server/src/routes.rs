//! The protocol's REST routes.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use edgehide_oip::{self as oip, ErrorBody, ServerMetadata};

use super::{AppState, Served, ServerConfig};
use crate::Model;
use crate::error::Result;

type St = State<Arc<AppState>>;

/// The protocol's routes for `models`, with one batching worker per model
/// started on the current tokio runtime.
pub fn router(models: Vec<Model>, config: ServerConfig) -> Result<Router> {
    let limit = config.max_body_bytes;
    let body_timeout = config.body_timeout;
    let state = super::state(models, config)?;
    Ok(Router::new()
        .route("/v2", get(server_metadata))
        .route(
            "/v2/health/live",
            get(|| async { axum::Json(json!({"live": true})) }),
        )
        .route(
            "/v2/health/ready",
            get(|| async { axum::Json(json!({"ready": true})) }),
        )
        .route("/v2/models/{name}", get(model_metadata))
        .route("/v2/models/{name}/ready", get(model_ready))
        .route("/v2/models/{name}/infer", post(infer))
        .route(
            "/v2/models/{name}/versions/{version}",
            get(model_metadata_v),
        )
        .route("/v2/models/{name}/versions/{version}/infer", post(infer_v))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such route".into()).into_response() })
        .method_not_allowed_fallback(|| async {
            error(
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed on this route".into(),
            )
            .into_response()
        })
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn(move |req, next| {
            refuse_oversized(req, next, limit)
        }))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            body_timeout,
        ))
        .with_state(state))
}

/// Longest request target (path and query) answered; longer is 414.
pub(crate) const MAX_URI_BYTES: usize = 8 << 10;
/// Most header bytes (names and values) answered; more is 431. HTTP's own
/// parser refuses, with a bare status, past 400 KiB or 100 header fields.
pub(crate) const MAX_HEADER_BYTES: usize = 32 << 10;

/// Refuses, with the JSON error body, a request too large to be served:
/// a long target (414), large headers (431), or a `Content-Length` over the
/// body limit (413), all before the body is read, so a client that sent
/// `Expect: 100-continue` never gets `100 Continue` for it.
async fn refuse_oversized(
    req: axum::extract::Request,
    next: axum::middleware::Next,
    limit: usize,
) -> Response {
    let target = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if target > MAX_URI_BYTES {
        return error(
            StatusCode::URI_TOO_LONG,
            format!("request target of {target} bytes exceeds {MAX_URI_BYTES}"),
        )
        .into_response();
    }
    let head: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    if head > MAX_HEADER_BYTES {
        return error(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            format!("{head} bytes of headers exceed {MAX_HEADER_BYTES}"),
        )
        .into_response();
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(n) if n > limit as u64 => error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body of {n} bytes exceeds the server's limit of {limit} bytes"),
        )
        .into_response(),
        _ => next.run(req).await,
    }
}

/// The route's path parameters, refused with the JSON error body (a path
/// that is not UTF-8 once decoded, say) instead of the framework's text.
struct Named<T>(T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + Send> axum::extract::FromRequestParts<S>
    for Named<T>
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> std::result::Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(t)| Named(t))
            .map_err(|e| error(e.status(), e.body_text()))
    }
}

/// Whether the body failed because it did not arrive within the body
/// timeout (the router's `RequestBodyTimeoutLayer`).
fn timed_out(rejection: &BytesRejection) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(rejection);
    while let Some(e) = cause {
        if e.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        cause = e.source();
    }
    false
}

/// An error answer: its status and the JSON `{"error": ...}` body.
struct ApiError {
    status: StatusCode,
    body: ErrorBody,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (self.status, axum::Json(self.body)).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        r
    }
}

fn error(status: StatusCode, error: String) -> ApiError {
    ApiError {
        status,
        body: ErrorBody { error },
    }
}

fn unknown_model(name: &str) -> ApiError {
    let shown: String = name.chars().take(64).collect();
    error(StatusCode::NOT_FOUND, format!("unknown model {shown:?}"))
}

async fn server_metadata() -> axum::Json<ServerMetadata> {
    axum::Json(ServerMetadata {
        name: "edgehide".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        extensions: vec!["binary_tensor_data".into()],
    })
}

fn lookup<'a>(
    state: &'a AppState,
    name: &str,
    version: Option<&str>,
) -> std::result::Result<&'a Served, ApiError> {
    let served = state.models.get(name).ok_or_else(|| unknown_model(name))?;
    match version {
        None | Some("1") => Ok(served),
        Some(_) => Err(error(
            StatusCode::NOT_FOUND,
            format!("model {name:?} has only version 1"),
        )),
    }
}

async fn model_metadata(State(state): St, Named(name): Named<String>) -> Response {
    match lookup(&state, &name, None) {
        Ok(s) => axum::Json(s.metadata.clone()).into_response(),
        Err(r) => r.into_response(),
    }
}

async fn model_metadata_v(State(state): St, Named((name, v)): Named<(String, String)>) -> Response {
    match lookup(&state, &name, Some(&v)) {
        Ok(s) => axum::Json(s.metadata.clone()).into_response(),
        Err(r) => r.into_response(),
    }
}

async fn model_ready(State(state): St, Named(name): Named<String>) -> Response {
    match lookup(&state, &name, None) {
        Ok(_) => axum::Json(json!({"name": name, "ready": true})).into_response(),
        Err(r) => r.into_response(),
    }
}

async fn infer_v(
    state: St,
    Named((name, v)): Named<(String, String)>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    if v != "1" {
        return error(
            StatusCode::NOT_FOUND,
            format!("model {name:?} has only version 1"),
        )
        .into_response();
    }
    infer(state, Named(name), headers, body).await
}

async fn infer(
    State(state): St,
    Named(name): Named<String>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    match infer_inner(&state, &name, headers, body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn infer_inner(
    state: &AppState,
    name: &str,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> std::result::Result<Response, ApiError> {
    let started = Instant::now();
    let served = lookup(state, name, None)?;
    let body = match body {
        Ok(b) => b,
        Err(rejection) => {
            let status = rejection.status();
            if timed_out(&rejection) {
                return Err(error(
                    StatusCode::REQUEST_TIMEOUT,
                    format!(
                        "the request body did not arrive within {:?}",
                        state.config.body_timeout
                    ),
                ));
            }
            let why = if status == StatusCode::PAYLOAD_TOO_LARGE {
                format!(
                    "request body exceeds the server's limit of {} bytes",
                    state.config.max_body_bytes
                )
            } else {
                rejection.body_text()
            };
            return Err(error(status, why));
        }
    };
    let header_len = headers
        .get(oip::HEADER_LENGTH)
        .map(|v| oip::parse_header_length(v.as_bytes()))
        .transpose()
        .map_err(|e| error(StatusCode::BAD_REQUEST, e.0))?;
    let req = match oip::decode_request(&body, header_len) {
        Ok(r) => r,
        Err(e) => return Err(error(StatusCode::BAD_REQUEST, e.0)),
    };
    drop(body);
    let (frames, data) = match check_input(served, req.inputs, &req.outputs) {
        Ok(x) => x,
        Err(why) => return Err(error(StatusCode::BAD_REQUEST, why)),
    };
    let limit = state.config.frames_per_request();
    if frames > limit {
        return Err(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the request carries {frames} frames; this server takes at most {limit} per request"
            ),
        ));
    }
    let bound = state.config.max_abs_input;
    if let Some(v) = data.iter().find(|v| v.abs() > bound) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            format!(
                "input value {v:e} is outside [-{bound}, {bound}], the range of encryptions this server takes"
            ),
        ));
    }
    let Ok(rx) = served.batcher.submit(data, frames) else {
        return Err(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server's queue is full; retry later".into(),
        ));
    };
    let logits = match tokio::time::timeout(state.config.request_timeout, rx).await {
        Ok(Ok(Ok(l))) => l,
        Ok(Ok(Err(e))) => {
            tracing::warn!(model = %name, frames, "inference failed: {e}");
            return Err(error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()));
        }
        Ok(Err(_)) => {
            return Err(error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the server is stopping".into(),
            ));
        }
        Err(_) => {
            return Err(error(
                StatusCode::GATEWAY_TIMEOUT,
                format!("no answer within {:?}", state.config.request_timeout),
            ));
        }
    };
    let classes = served.model.classes();
    let out = oip::encode_response(
        name,
        req.id.as_deref(),
        served.model.output_name(),
        &[frames, classes],
        &logits,
        req.binary_output,
    );
    tracing::debug!(model = %name, frames, ms = started.elapsed().as_secs_f64() * 1e3, "infer");
    let mut r = out.body.into_response();
    let h = r.headers_mut();
    match out.header_len {
        Some(n) => {
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            h.insert(oip::HEADER_LENGTH, HeaderValue::from(n));
        }
        None => {
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
    }
    Ok(r)
}

/// The one input must be `[N, C, H, W]` of the model's geometry, N >= 1.
fn check_input(
    served: &Served,
    mut inputs: Vec<oip::Tensor>,
    outputs: &[String],
) -> std::result::Result<(usize, Vec<f32>), String> {
    let model = &served.model;
    if let Some(o) = outputs.iter().find(|o| *o != model.output_name()) {
        return Err(format!(
            "unknown output {:?} (the model has {:?})",
            o.chars().take(64).collect::<String>(),
            model.output_name()
        ));
    }
    if inputs.len() != 1 {
        return Err(format!("expected 1 input tensor, got {}", inputs.len()));
    }
    let t = inputs.remove(0);
    if t.name != model.input_name() {
        return Err(format!(
            "unknown input {:?} (the model's input is {:?})",
            t.name.chars().take(64).collect::<String>(),
            model.input_name()
        ));
    }
    let g = model.spec().geometry();
    let want = [g.channels, g.height, g.width];
    match t.shape.as_slice() {
        [n, rest @ ..] if *n >= 1 && rest == want => Ok((*n, t.data)),
        other => Err(format!(
            "input shape {other:?} does not match the model's [N, {}, {}, {}] (N >= 1)",
            want[0], want[1], want[2]
        )),
    }
}
