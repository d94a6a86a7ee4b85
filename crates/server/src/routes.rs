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

use edgehide_oip::{self as oip, ServerMetadata};

use super::{AppState, ServerConfig};
use crate::Model;
use crate::error::Result;
use crate::infer::{ApiError, check_input, error, lookup, run_frames};

type St = State<Arc<AppState>>;

/// The protocol's routes for `models`, with one batching worker per model
/// started on the current tokio runtime.
pub fn router(models: Vec<Model>, config: ServerConfig) -> Result<Router> {
    let state = super::state(models, config.clone())?;
    Ok(router_for(state, &config))
}

/// The routes over models already loaded and batching.
pub(crate) fn router_for(state: Arc<AppState>, config: &ServerConfig) -> Router {
    let limit = config.max_body_bytes;
    let body_timeout = config.body_timeout;
    Router::new()
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
        .with_state(state)
}

use crate::infer::{MAX_HEADER_BYTES, MAX_URI_BYTES};

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

async fn server_metadata() -> axum::Json<ServerMetadata> {
    axum::Json(ServerMetadata {
        name: "edgehide".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        extensions: vec!["binary_tensor_data".into()],
    })
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
    let (frames, data) = check_input(served, req.inputs, &req.outputs)
        .map_err(|why| error(StatusCode::BAD_REQUEST, why))?;
    let logits = run_frames(state, served, name, frames, data).await?;
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
