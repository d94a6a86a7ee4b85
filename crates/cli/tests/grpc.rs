//! The gRPC service (`inference.GRPCInferenceService`) of edgehide's server
//! on loopback, beside REST: NVIDIA's tritonclient[grpc] drives it
//! unchanged, edgehide's client gets the same answers over gRPC as over
//! REST for the same encryptions, and bad messages get clear status codes
//! under the same limits as REST.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use edgehide::client::{AsyncClient, ClientConfig, Protocol, SpecSource};
use edgehide::{BackendChoice, Encryptor, Error, Preprocessor, PublicPool};
use edgehide_lab::dataset::{self, Split};
use edgehide_oip::DataType;
use edgehide_oip::grpc::{self, proto};
use edgehide_server::ServerConfig;

mod common;
use common::*;

/// edgehide's server with REST and gRPC, stopped when dropped.
struct Running {
    rest: String,
    grpc: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.stop.take().map(|s| s.send(()));
    }
}

async fn start(config: ServerConfig) -> Running {
    let rest = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let grpc = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let urls = (
        format!("http://{}", rest.local_addr().unwrap()),
        format!("http://{}", grpc.local_addr().unwrap()),
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(edgehide_server::serve_with_grpc(
        rest,
        Some(grpc),
        vec![model()],
        config,
        async {
            let _ = stopped.await;
        },
    ));
    Running {
        rest: urls.0,
        grpc: urls.1,
        stop: Some(stop),
    }
}

fn encryptor() -> Arc<Encryptor> {
    let spec = model().spec().clone();
    Arc::new(Encryptor::new(spec, &PublicPool::bundled().unwrap(), BackendChoice::Cpu).unwrap())
}

fn config(protocol: Protocol) -> ClientConfig {
    let mut c = ClientConfig::default();
    c.protocol = protocol;
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tritonclient_grpc_drives_the_server() {
    let server = start(ServerConfig::default()).await;
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    let python = root.join(".venv/bin/python");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tritonclient_grpc_check.py");
    let (grpc, rest) = (
        server.grpc.trim_start_matches("http://").to_string(),
        server.rest.trim_start_matches("http://").to_string(),
    );
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(&python)
            .arg(script)
            .args([&grpc, &rest, NAME])
            .output()
            .unwrap_or_else(|e| panic!("{}: {e} (run scripts/install-deps.sh)", python.display()))
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("tritonclient grpc: ok"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_gets_the_same_answers_over_grpc_and_rest() {
    let server = start(ServerConfig::default()).await;
    let test = dataset::fashion_mnist(None, Split::Test).unwrap();
    let spec = model().spec().clone();
    let frames = test
        .preprocess(0..100, &mut Preprocessor::new(&spec))
        .unwrap();
    let encs = encryptor().encrypt_batch_fresh(&frames).unwrap();
    let rest = AsyncClient::connect(&server.rest, NAME, encryptor(), config(Protocol::Rest))
        .await
        .unwrap();
    let grpc = AsyncClient::connect(&server.grpc, NAME, encryptor(), config(Protocol::Grpc))
        .await
        .unwrap();
    // The gRPC metadata carries the spec too, and a mismatch is refused.
    assert_eq!(grpc.spec_source(), SpecSource::Metadata);
    let a = rest.classify_encrypted(&encs).await.unwrap();
    let b = grpc.classify_encrypted(&encs).await.unwrap();
    assert_eq!(a, b);
    let correct = b
        .iter()
        .zip(&test.labels)
        .filter(|(c, l)| c.class() == **l as usize)
        .count();
    assert!(correct >= 70, "{correct}/100");
    let k2 = spec.with_params(spec.params().with_k(2).unwrap()).unwrap();
    let other =
        Arc::new(Encryptor::new(k2, &PublicPool::bundled().unwrap(), BackendChoice::Cpu).unwrap());
    let refused = AsyncClient::connect(&server.grpc, NAME, other, config(Protocol::Grpc)).await;
    assert!(
        matches!(refused, Err(Error::ServerMismatch(_))),
        "{refused:?}"
    );
    // Nobody listening: a transport error, promptly.
    let nobody = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", nobody.local_addr().unwrap());
    drop(nobody);
    let mut c = config(Protocol::Grpc);
    c.timeout = Duration::from_secs(2);
    let down = AsyncClient::connect(&url, NAME, encryptor(), c).await;
    assert!(matches!(down, Err(Error::Transport(_))), "{down:?}");
}

/// Raw requests the stock clients would not send: each gets a clear status
/// code, and the service keeps answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_grpc_messages_get_clear_status_codes() {
    let mut cfg = ServerConfig::default();
    cfg.max_body_bytes = 1 << 20;
    let server = start(cfg).await;
    let channel = tonic::transport::Endpoint::from_shared(server.grpc.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = proto::grpc_inference_service_client::GrpcInferenceServiceClient::new(channel)
        .max_encoding_message_size(64 << 20);
    let good = grpc::infer_request(
        NAME,
        "input",
        &[1, 1, 28, 28],
        DataType::Fp32,
        &[0.5; 784],
        None,
    );
    use tonic::Code;
    let cases: Vec<(&str, proto::ModelInferRequest, Code, &str)> = vec![
        (
            "truncated raw bytes",
            {
                let mut r = good.clone();
                r.raw_input_contents[0].truncate(100);
                r
            },
            Code::InvalidArgument,
            "raw bytes",
        ),
        (
            "two raw entries for one input",
            {
                let mut r = good.clone();
                r.raw_input_contents.push(vec![0; 4]);
                r
            },
            Code::InvalidArgument,
            "for 1 inputs",
        ),
        (
            "a negative dimension",
            {
                let mut r = good.clone();
                r.inputs[0].shape = vec![-1, 1, 28, 28];
                r
            },
            Code::InvalidArgument,
            "negative",
        ),
        (
            "an unknown input",
            {
                let mut r = good.clone();
                r.inputs[0].name = "pixels".into();
                r
            },
            Code::InvalidArgument,
            "unknown input",
        ),
        (
            "an unknown model version",
            {
                let mut r = good.clone();
                r.model_version = "7".into();
                r
            },
            Code::NotFound,
            "only version 1",
        ),
        (
            "a message over the body limit",
            grpc::infer_request(
                NAME,
                "input",
                &[400, 1, 28, 28],
                DataType::Fp32,
                &vec![0.5; 400 * 784],
                None,
            ),
            Code::OutOfRange,
            "",
        ),
    ];
    for (what, request, code, needle) in cases {
        let status = client.model_infer(request).await.unwrap_err();
        assert_eq!(status.code(), code, "{what}: {status:?}");
        assert!(
            status.message().contains(needle),
            "{what}: {}",
            status.message()
        );
    }
    let answer = client.model_infer(good).await.unwrap().into_inner();
    assert_eq!(
        grpc::decode_infer_response(answer).unwrap()[0].shape,
        [1, 10]
    );
}
