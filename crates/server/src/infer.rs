//! What REST and gRPC share for one inference request: finding the model,
//! checking the input tensor, the per-request limits, the batcher and the
//! timeout, and the refusals with their status.

use axum::http::StatusCode;
use edgehide_oip::{self as oip, ErrorBody};

use crate::{AppState, Served};

/// Longest request target (path and query) answered; longer is 414.
pub(crate) const MAX_URI_BYTES: usize = 8 << 10;
/// Most header bytes (names and values) answered; more is 431 (REST) or a
/// refused stream (gRPC). HTTP/1's own parser refuses, with a bare status,
/// past 400 KiB or 100 header fields.
pub(crate) const MAX_HEADER_BYTES: usize = 32 << 10;

/// A refused or failed request: an HTTP status (the gRPC service maps it to
/// its codes) and the message for the sender.
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) body: ErrorBody,
}

pub(crate) fn error(status: StatusCode, error: String) -> ApiError {
    ApiError {
        status,
        body: ErrorBody { error },
    }
}

fn unknown_model(name: &str) -> ApiError {
    let shown: String = name.chars().take(64).collect();
    error(StatusCode::NOT_FOUND, format!("unknown model {shown:?}"))
}

pub(crate) fn lookup<'a>(
    state: &'a AppState,
    name: &str,
    version: Option<&str>,
) -> Result<&'a Served, ApiError> {
    let served = state.models.get(name).ok_or_else(|| unknown_model(name))?;
    match version {
        None | Some("") | Some("1") => Ok(served),
        Some(_) => Err(error(
            StatusCode::NOT_FOUND,
            format!(
                "model {:?} has only version 1",
                name.chars().take(64).collect::<String>()
            ),
        )),
    }
}

/// The one input must be `[N, C, H, W]` of the model's geometry, N >= 1.
pub(crate) fn check_input(
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

/// Runs `frames` tensors through the model's batcher within the server's
/// limits: frames per request, the input bound, the queue, the timeout.
pub(crate) async fn run_frames(
    state: &AppState,
    served: &Served,
    name: &str,
    frames: usize,
    data: Vec<f32>,
) -> Result<Vec<f32>, ApiError> {
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
    match tokio::time::timeout(state.config.request_timeout, rx).await {
        Ok(Ok(Ok(l))) => Ok(l),
        Ok(Ok(Err(e))) => {
            tracing::warn!(model = %name, frames, "inference failed: {e}");
            Err(error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
        }
        Ok(Err(_)) => Err(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is stopping".into(),
        )),
        Err(_) => Err(error(
            StatusCode::GATEWAY_TIMEOUT,
            format!("no answer within {:?}", state.config.request_timeout),
        )),
    }
}
