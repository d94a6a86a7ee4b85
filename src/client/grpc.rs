//! The client's gRPC transport: the protocol's `GRPCInferenceService` over
//! HTTP/2 (plaintext; TLS is the REST transport's), tensors as raw bytes.

use std::time::Duration;

use edgehide_oip::grpc::{self, proto};
use edgehide_oip::{self as oip, ModelMetadata, TensorMetadata};
use proto::grpc_inference_service_client::GrpcInferenceServiceClient;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};

use crate::error::{Error, Result};

/// A connection to one model on a gRPC server.
#[derive(Clone)]
pub(super) struct GrpcLink {
    client: GrpcInferenceServiceClient<Channel>,
    model: String,
}

/// The HTTP status the REST transport would have seen for `status`, so that
/// callers (and the retry rule) see one kind of server error.
fn server_error(status: Status) -> Error {
    let http = match status.code() {
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => 400,
        Code::NotFound => 404,
        Code::ResourceExhausted => 413,
        Code::Unavailable => 503,
        Code::DeadlineExceeded => 504,
        Code::Unimplemented => 501,
        _ => 500,
    };
    Error::Server {
        status: http,
        message: status.message().to_string(),
    }
}

/// Connects to `base_url` (`http://HOST:PORT`) and reads `model`'s
/// metadata, with the spec the server announces in its parameters.
pub(super) async fn connect(
    base_url: &str,
    model: &str,
    timeout: Duration,
) -> Result<(GrpcLink, ModelMetadata)> {
    if base_url.starts_with("https:") {
        return Err(Error::params(
            "protocol",
            "gRPC runs without TLS here; use the REST protocol for https servers",
        ));
    }
    let endpoint = Endpoint::from_shared(base_url.to_string())
        .map_err(|e| Error::Transport(format!("bad server address {base_url:?}: {e}")))?
        .connect_timeout(timeout)
        .timeout(timeout);
    let channel = endpoint
        .connect()
        .await
        .map_err(|e| Error::Transport(format!("cannot connect: {base_url}: {e}")))?;
    let mut client = GrpcInferenceServiceClient::new(channel).max_decoding_message_size(64 << 20);
    let m = client
        .model_metadata(proto::ModelMetadataRequest {
            name: model.to_string(),
            version: String::new(),
        })
        .await
        .map_err(server_error)?
        .into_inner();
    let tensor = |t: proto::model_metadata_response::TensorMetadata| TensorMetadata {
        name: t.name,
        datatype: t.datatype,
        shape: t.shape,
    };
    let parameters = m
        .parameters
        .keys()
        .filter_map(|k| {
            let v = grpc::parameter_text(&m.parameters, k)?;
            Some((k.clone(), serde_json::Value::String(v.to_string())))
        })
        .collect();
    let metadata = ModelMetadata {
        name: m.name,
        versions: m.versions,
        platform: m.platform,
        inputs: m.inputs.into_iter().map(tensor).collect(),
        outputs: m.outputs.into_iter().map(tensor).collect(),
        parameters,
    };
    let link = GrpcLink {
        client,
        model: model.to_string(),
    };
    Ok((link, metadata))
}

impl GrpcLink {
    /// One inference; retried like the REST transport's (unreachable,
    /// busy or timed out: up to `retries` more times).
    pub(super) async fn infer(
        &self,
        input: &str,
        shape: &[usize],
        datatype: oip::DataType,
        data: &[f32],
        output: Option<&str>,
        retries: u32,
    ) -> Result<Vec<oip::Tensor>> {
        let request = grpc::infer_request(&self.model, input, shape, datatype, data, output);
        let mut attempt = 0;
        loop {
            match self.client.clone().model_infer(request.clone()).await {
                Ok(r) => {
                    return grpc::decode_infer_response(r.into_inner())
                        .map_err(|e| Error::Protocol(e.0));
                }
                Err(s)
                    if attempt < retries
                        && matches!(s.code(), Code::Unavailable | Code::DeadlineExceeded) =>
                {
                    tokio::time::sleep(Duration::from_millis(50 << attempt.min(6))).await;
                    attempt += 1;
                }
                Err(s) => return Err(server_error(s)),
            }
        }
    }
}
