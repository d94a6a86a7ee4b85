//! The protocol's gRPC service (`inference.GRPCInferenceService`, as KServe
//! and Triton serve it) over the same models, batchers and limits as REST.

use std::sync::Arc;

use axum::http::StatusCode;
use edgehide_oip::grpc::{self, proto};
use proto::grpc_inference_service_server::{GrpcInferenceService, GrpcInferenceServiceServer};
use tonic::{Code, Request, Response, Status};

use crate::AppState;
use crate::infer::{ApiError, check_input, error, lookup, run_frames};

/// The service for `state`, refusing messages over the body limit.
pub(crate) fn service(state: Arc<AppState>) -> GrpcInferenceServiceServer<Service> {
    let limit = state.config.max_body_bytes;
    GrpcInferenceServiceServer::new(Service { state })
        .max_decoding_message_size(limit)
        .max_encoding_message_size(limit.max(16 << 20))
}

pub(crate) struct Service {
    state: Arc<AppState>,
}

/// The gRPC code for a refusal the REST side answers with `status`.
fn status(e: ApiError) -> Status {
    let code = match e.status {
        StatusCode::BAD_REQUEST => Code::InvalidArgument,
        StatusCode::NOT_FOUND => Code::NotFound,
        StatusCode::PAYLOAD_TOO_LARGE => Code::ResourceExhausted,
        StatusCode::SERVICE_UNAVAILABLE => Code::Unavailable,
        StatusCode::GATEWAY_TIMEOUT => Code::DeadlineExceeded,
        _ => Code::Internal,
    };
    Status::new(code, e.body.error)
}

#[tonic::async_trait]
impl GrpcInferenceService for Service {
    async fn server_live(
        &self,
        _: Request<proto::ServerLiveRequest>,
    ) -> Result<Response<proto::ServerLiveResponse>, Status> {
        Ok(Response::new(proto::ServerLiveResponse { live: true }))
    }

    async fn server_ready(
        &self,
        _: Request<proto::ServerReadyRequest>,
    ) -> Result<Response<proto::ServerReadyResponse>, Status> {
        Ok(Response::new(proto::ServerReadyResponse { ready: true }))
    }

    async fn model_ready(
        &self,
        request: Request<proto::ModelReadyRequest>,
    ) -> Result<Response<proto::ModelReadyResponse>, Status> {
        let r = request.into_inner();
        let ready = lookup(&self.state, &r.name, Some(&r.version)).is_ok();
        Ok(Response::new(proto::ModelReadyResponse { ready }))
    }

    async fn server_metadata(
        &self,
        _: Request<proto::ServerMetadataRequest>,
    ) -> Result<Response<proto::ServerMetadataResponse>, Status> {
        Ok(Response::new(proto::ServerMetadataResponse {
            name: "edgehide".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            extensions: Vec::new(),
        }))
    }

    async fn model_metadata(
        &self,
        request: Request<proto::ModelMetadataRequest>,
    ) -> Result<Response<proto::ModelMetadataResponse>, Status> {
        let r = request.into_inner();
        let served = lookup(&self.state, &r.name, Some(&r.version)).map_err(status)?;
        let m = &served.metadata;
        let tensor =
            |t: &edgehide_oip::TensorMetadata| proto::model_metadata_response::TensorMetadata {
                name: t.name.clone(),
                datatype: t.datatype.clone(),
                shape: t.shape.clone(),
            };
        // Protocol parameters are scalars; the REST metadata's are strings
        // or numbers, carried here as their text.
        let parameters = m
            .parameters
            .iter()
            .map(|(k, v)| {
                let text = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                (k.clone(), grpc::string_parameter(text))
            })
            .collect();
        Ok(Response::new(proto::ModelMetadataResponse {
            name: m.name.clone(),
            versions: m.versions.clone(),
            platform: m.platform.clone(),
            inputs: m.inputs.iter().map(tensor).collect(),
            outputs: m.outputs.iter().map(tensor).collect(),
            parameters,
        }))
    }

    async fn model_infer(
        &self,
        request: Request<proto::ModelInferRequest>,
    ) -> Result<Response<proto::ModelInferResponse>, Status> {
        let started = std::time::Instant::now();
        let r = request.into_inner();
        let name = r.model_name.clone();
        let served = lookup(&self.state, &name, Some(&r.model_version)).map_err(status)?;
        let req = grpc::decode_infer_request(r)
            .map_err(|e| status(error(StatusCode::BAD_REQUEST, e.0)))?;
        let (frames, data) = check_input(served, req.inputs, &req.outputs)
            .map_err(|why| status(error(StatusCode::BAD_REQUEST, why)))?;
        let logits = run_frames(&self.state, served, &name, frames, data)
            .await
            .map_err(status)?;
        tracing::debug!(model = %name, frames, ms = started.elapsed().as_secs_f64() * 1e3, "grpc infer");
        Ok(Response::new(grpc::infer_response(
            &name,
            req.id.as_deref(),
            served.model.output_name(),
            &[frames, served.model.classes()],
            &logits,
            req.binary_output,
        )))
    }
}
