//! `cargo bench -p edgehide-cli --bench serve -- engines`: edgehide's server
//! over REST (binary tensors) and gRPC, beside MLServer over REST (JSON, the
//! only encoding its REST takes) and gRPC, and the FastAPI peer, all serving
//! the bundled model on loopback and sent the same encryptions one frame per
//! request: throughput at concurrency 1 and 64, and the round trip (p50) at
//! concurrency 1. Under `cargo test` only edgehide's two bindings run, a few
//! requests each, as a smoke test.

use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use edgehide_oip::DataType;
use edgehide_oip::grpc::{self, proto};
use proto::grpc_inference_service_client::GrpcInferenceServiceClient;

use super::{
    NAME, Outcome, Proc, encoded_bodies, free_port, load, model_path, python_peer, root, row,
    spawn_server, wait_ready,
};

/// `total` gRPC requests from `concurrency` workers over one HTTP/2
/// connection (as gRPC clients multiplex), one frame each.
async fn load_grpc(
    url: &str,
    tensors: Arc<Vec<Vec<f32>>>,
    concurrency: usize,
    total: usize,
) -> Outcome {
    // A server's gRPC port may open after its REST one is ready.
    let endpoint = tonic::transport::Endpoint::from_shared(url.to_string()).unwrap();
    let mut tries = 0;
    let channel = loop {
        match endpoint.connect().await {
            Ok(c) => break c,
            Err(e) if tries < 300 => {
                tries += 1;
                let _ = e;
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(e) => panic!("{url}: {e}"),
        }
    };
    let client = GrpcInferenceServiceClient::new(channel);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (mut client, tensors, next) = (client.clone(), tensors.clone(), next.clone());
            tokio::spawn(async move {
                let mut o = Outcome::default();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= total {
                        return o;
                    }
                    let t = Instant::now();
                    let request = grpc::infer_request(
                        NAME,
                        "input",
                        &[1, 1, 28, 28],
                        DataType::Fp32,
                        &tensors[i % tensors.len()],
                        Some("logits"),
                    );
                    match client.model_infer(request).await {
                        Ok(r) => match grpc::decode_infer_response(r.into_inner()) {
                            Ok(out) if out[0].data.len() == 10 => {
                                o.ok += 1;
                                o.latencies.push(t.elapsed());
                            }
                            _ => o.failed += 1,
                        },
                        Err(s) if s.code() == tonic::Code::Unavailable => o.busy += 1,
                        Err(_) => o.failed += 1,
                    }
                }
            })
        })
        .collect();
    Outcome::gather(workers, started).await
}

/// MLServer 1.7.1 serving the folder `edgehide export --mlserver` writes
/// (inference in its main process: docs/DEPLOY.md); `None` when its
/// virtualenv is missing.
fn mlserver(dir: &std::path::Path, port: u16, grpc: u16) -> Option<Proc> {
    let bin = root().join(".venv-mlserver/bin/mlserver");
    if !bin.exists() {
        eprintln!("MLServer skipped: no .venv-mlserver (scripts/install-deps.sh)");
        return None;
    }
    let out = Command::new(env!("CARGO_BIN_EXE_edgehide"))
        .args(["export", "--model"])
        .arg(model_path())
        .arg("--mlserver")
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(spawn_server(
        Command::new(bin)
            .arg("start")
            .arg(dir)
            .env("MLSERVER_HOST", "127.0.0.1")
            .env("MLSERVER_HTTP_PORT", port.to_string())
            .env("MLSERVER_GRPC_PORT", grpc.to_string())
            .env("MLSERVER_METRICS_PORT", free_port().to_string())
            .stderr(std::process::Stdio::null()),
    ))
}

pub fn run(rt: &tokio::runtime::Runtime, encrypted: &[Vec<f32>], full: bool) {
    let binary = Arc::new(encoded_bodies(encrypted, true));
    let json = Arc::new(encoded_bodies(encrypted, false));
    let tensors = Arc::new(encrypted.to_vec());
    let levels: &[usize] = if full { &[1, 64] } else { &[1] };
    let requests = |c: usize| if full { (c * 40).clamp(600, 4000) } else { 20 };
    println!(
        "| server | binding | concurrency | requests/s | p50 ms | p99 ms | ok | 503 | failed |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    // (server, binding, concurrency) -> requests/s
    let mut rps: Vec<(&str, &str, usize, f64)> = Vec::new();
    let mut record = |server: &'static str, binding: &'static str, c: usize, o: &Outcome| {
        println!("{}", row(&format!("{server} | {binding}"), c, o));
        rps.push((server, binding, c, o.rps()));
    };

    let (port, grpc_port) = (free_port(), free_port());
    let _ours = spawn_server(
        Command::new(env!("CARGO_BIN_EXE_edgehide"))
            .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
            .args(["--grpc-addr", &format!("127.0.0.1:{grpc_port}")])
            .arg("--model")
            .arg(model_path()),
    );
    let (url, grpc_url) = (
        format!("http://127.0.0.1:{port}"),
        format!("http://127.0.0.1:{grpc_port}"),
    );
    rt.block_on(wait_ready(&url));
    rt.block_on(load(&url, binary.clone(), 8, 50));
    rt.block_on(load_grpc(&grpc_url, tensors.clone(), 8, 50));
    for &c in levels {
        let o = rt.block_on(load(&url, binary.clone(), c, requests(c)));
        assert_eq!(o.failed, 0);
        record("edgehide", "REST, binary", c, &o);
        let o = rt.block_on(load_grpc(&grpc_url, tensors.clone(), c, requests(c)));
        assert_eq!(o.failed, 0);
        record("edgehide", "gRPC", c, &o);
    }
    if !full {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (port, grpc_port) = (free_port(), free_port());
    if let Some(_ml) = mlserver(dir.path(), port, grpc_port) {
        let (url, grpc_url) = (
            format!("http://127.0.0.1:{port}"),
            format!("http://127.0.0.1:{grpc_port}"),
        );
        rt.block_on(wait_ready(&url));
        rt.block_on(load(&url, json.clone(), 8, 50));
        rt.block_on(load_grpc(&grpc_url, tensors.clone(), 8, 50));
        for &c in levels {
            let o = rt.block_on(load(&url, json.clone(), c, requests(c)));
            record("MLServer 1.7.1", "REST, JSON", c, &o);
            let o = rt.block_on(load_grpc(&grpc_url, tensors.clone(), c, requests(c)));
            record("MLServer 1.7.1", "gRPC", c, &o);
        }
    }
    let port = free_port();
    if let Some(_peer) = python_peer(port) {
        let url = format!("http://127.0.0.1:{port}");
        rt.block_on(wait_ready(&url));
        rt.block_on(load(&url, binary.clone(), 8, 50));
        for &c in levels {
            let o = rt.block_on(load(&url, binary.clone(), c, requests(c)));
            record("FastAPI + onnxruntime", "REST, binary", c, &o);
        }
    }
    let get = |server: &str, binding: &str, c: usize| {
        rps.iter()
            .find(|r| r.0 == server && r.1 == binding && r.2 == c)
            .map(|r| r.3)
    };
    println!();
    for c in [1, 64] {
        if let (Some(g), Some(r)) = (
            get("edgehide", "gRPC", c),
            get("edgehide", "REST, binary", c),
        ) {
            println!(
                "edgehide gRPC / REST throughput at concurrency {c}: {:.2}x",
                g / r
            );
        }
    }
    let best_ml = ["REST, JSON", "gRPC"]
        .iter()
        .filter_map(|b| get("MLServer 1.7.1", b, 64))
        .fold(f64::NAN, f64::max);
    let best_ours = ["REST, binary", "gRPC"]
        .iter()
        .filter_map(|b| get("edgehide", b, 64))
        .fold(f64::NAN, f64::max);
    if best_ml.is_finite() {
        println!(
            "edgehide / MLServer throughput at concurrency 64, each on its better binding: {:.2}x",
            best_ours / best_ml
        );
    }
}
