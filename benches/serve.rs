//! Load on loopback: edgehide's server (the `edgehide serve` binary, batching
//! on and off) against the Python peer (benches/peer_fastapi.py: FastAPI +
//! onnxruntime), the same binary requests; the encrypted end-to-end path
//! against sending the plain tensor; and the queue bound under overload.
//!
//!     cargo bench --bench serve        # full run, prints the tables
//!     cargo bench --bench serve -- e2e # only the end-to-end comparison
//!
//! Under `cargo test --all-targets` it runs a few requests as a smoke test.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use edgehide::client::{AsyncClient, ClientConfig};
use edgehide::dataset::{self, Split};
use edgehide::oip::{self, DataType};
use edgehide::{BackendChoice, Encryptor, Preprocessor, PublicPool};

const NAME: &str = "fashion-mnist-k4";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn model_path() -> PathBuf {
    root().join("models/fashion-mnist-k4.onnx")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Proc(Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

async fn wait_ready(url: &str) {
    let client = http();
    for _ in 0..300 {
        if let Ok(r) = client.get(format!("{url}/v2/health/ready")).send().await
            && r.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{url} never became ready");
}

fn edgehide_server(port: u16, max_batch: usize, queue: usize, delay_ms: &str) -> Proc {
    Proc(
        Command::new(env!("CARGO_BIN_EXE_edgehide"))
            .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
            .args([
                "--max-batch",
                &max_batch.to_string(),
                "--queue",
                &queue.to_string(),
            ])
            .args(["--max-delay-ms", delay_ms])
            .arg("--model")
            .arg(model_path())
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

fn python_peer(port: u16) -> Option<Proc> {
    let python = root().join(".venv/bin/python");
    let ok = Command::new(&python)
        .args(["-c", "import fastapi, uvicorn, onnxruntime"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        eprintln!("python peer skipped: .venv lacks fastapi/uvicorn (scripts/install-deps.sh)");
        return None;
    }
    Some(Proc(
        Command::new(python)
            .arg(root().join("benches/peer_fastapi.py"))
            .arg(model_path())
            .arg(port.to_string())
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    ))
}

/// One binary request body per frame.
struct Bodies(Vec<(Vec<u8>, usize)>);

fn bodies(tensors: &[Vec<f32>]) -> Bodies {
    Bodies(
        tensors
            .iter()
            .map(|t| {
                let e = oip::encode_request(
                    None,
                    "input",
                    &[1, 1, 28, 28],
                    DataType::Fp32,
                    t,
                    "logits",
                    true,
                );
                (e.body, e.header_len.unwrap())
            })
            .collect(),
    )
}

#[derive(Default)]
struct Outcome {
    ok: usize,
    busy: usize,
    failed: usize,
    latencies: Vec<Duration>,
    wall: Duration,
}

impl Outcome {
    fn rps(&self) -> f64 {
        self.ok as f64 / self.wall.as_secs_f64()
    }
    fn pct(&self, p: f64) -> f64 {
        let mut l = self.latencies.clone();
        l.sort();
        l.get(((l.len() as f64 - 1.0) * p).round() as usize)
            .map(|d| d.as_secs_f64() * 1e3)
            .unwrap_or(f64::NAN)
    }
}

/// `total` requests from `concurrency` workers, each request a body of `bodies`.
async fn load(url: &str, bodies: Arc<Bodies>, concurrency: usize, total: usize) -> Outcome {
    let client = http();
    let target = format!("{url}/v2/models/{NAME}/infer");
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, target, bodies, next) =
                (client.clone(), target.clone(), bodies.clone(), next.clone());
            tokio::spawn(async move {
                let mut o = Outcome::default();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= total {
                        return o;
                    }
                    let (body, h) = &bodies.0[i % bodies.0.len()];
                    let t = Instant::now();
                    let r = client
                        .post(&target)
                        .header(oip::HEADER_LENGTH, *h)
                        .body(body.clone())
                        .send()
                        .await;
                    match r {
                        Ok(r) if r.status().is_success() => {
                            let h = r
                                .headers()
                                .get(oip::HEADER_LENGTH)
                                .and_then(|v| v.to_str().ok()?.parse().ok());
                            match r
                                .bytes()
                                .await
                                .ok()
                                .and_then(|b| oip::decode_response(&b, h).ok())
                            {
                                Some(out) if out[0].data.len() == 10 => {
                                    o.ok += 1;
                                    o.latencies.push(t.elapsed());
                                }
                                _ => o.failed += 1,
                            }
                        }
                        Ok(r) if r.status().as_u16() == 503 => o.busy += 1,
                        _ => o.failed += 1,
                    }
                }
            })
        })
        .collect();
    let mut all = Outcome::default();
    for w in workers {
        let o = w.await.unwrap();
        all.ok += o.ok;
        all.busy += o.busy;
        all.failed += o.failed;
        all.latencies.extend(o.latencies);
    }
    all.wall = started.elapsed();
    all
}

fn row(name: &str, c: usize, o: &Outcome) -> String {
    format!(
        "| {name} | {c} | {:.0} | {:.2} | {:.2} | {} | {} | {} |",
        o.rps(),
        o.pct(0.5),
        o.pct(0.99),
        o.ok,
        o.busy,
        o.failed
    )
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let only_e2e = std::env::args().any(|a| a == "e2e");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let spec = edgehide::infer::Model::load(&model_path(), None)
        .unwrap()
        .spec()
        .clone();
    let test = dataset::fashion_mnist(None, Split::Test).unwrap();
    let frames = test
        .preprocess(0..256, &mut Preprocessor::new(&spec))
        .unwrap();
    let enc = Arc::new(
        Encryptor::new(spec, &PublicPool::bundled().unwrap(), BackendChoice::Cpu).unwrap(),
    );
    let encrypted: Vec<Vec<f32>> = enc
        .encrypt_batch_fresh(&frames)
        .unwrap()
        .into_iter()
        .map(|e| e.into_data())
        .collect();
    let encrypted = Arc::new(bodies(&encrypted));
    let requests = |c: usize| if full { (c * 40).clamp(600, 4000) } else { 20 };
    let levels: &[usize] = match (only_e2e, full) {
        (true, _) => &[],
        (false, true) => &[1, 8, 64],
        (false, false) => &[1, 8],
    };

    println!("| server | concurrency | requests/s | p50 ms | p99 ms | ok | 503 | failed |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut rps64 = Vec::new();
    for &(label, max_batch, delay) in if only_e2e {
        &[][..]
    } else {
        &[
            ("edgehide, batching on (up to 64, no added delay)", 64, "0"),
            ("edgehide, batching on (up to 64, 2 ms delay)", 64, "2"),
            ("edgehide, batching off", 1, "0"),
        ][..]
    } {
        let port = free_port();
        let _server = edgehide_server(port, max_batch, 4096, delay);
        let url = format!("http://127.0.0.1:{port}");
        rt.block_on(wait_ready(&url));
        rt.block_on(load(&url, encrypted.clone(), 8, 50)); // warm-up
        for &c in levels {
            let o = rt.block_on(load(&url, encrypted.clone(), c, requests(c)));
            assert_eq!(o.failed, 0, "{label}: failed requests");
            println!("{}", row(label, c, &o));
            if c == 64 {
                rps64.push((label, o.rps()));
            }
        }
    }
    if full && !only_e2e {
        let port = free_port();
        if let Some(_peer) = python_peer(port) {
            let url = format!("http://127.0.0.1:{port}");
            rt.block_on(wait_ready(&url));
            rt.block_on(load(&url, encrypted.clone(), 8, 50));
            for &c in levels {
                let o = rt.block_on(load(&url, encrypted.clone(), c, requests(c)));
                println!("{}", row("Python peer (FastAPI + onnxruntime)", c, &o));
                if c == 64 {
                    rps64.push(("python", o.rps()));
                }
            }
        }
        if let (Some(ours), Some(peer)) = (rps64.first(), rps64.iter().find(|r| r.0 == "python")) {
            println!(
                "\nthroughput at concurrency 64, edgehide (batching on) / Python peer: {:.2}x",
                ours.1 / peer.1
            );
        }
    }

    // Encrypt + send + infer, against sending the plain tensor, one frame
    // per request, one client, the same server; interleaved rounds so that
    // drift on this shared machine hits both alike.
    let port = free_port();
    let _server = edgehide_server(port, 64, 4096, "0");
    let url = format!("http://127.0.0.1:{port}");
    rt.block_on(async {
        wait_ready(&url).await;
        let client = AsyncClient::connect(&url, NAME, enc.clone(), ClientConfig::default()).await.unwrap();
        // Alternate the two paths request by request and compare medians,
        // so that drift and outliers on this shared machine hit both alike.
        let n = if full { 3000 } else { 10 };
        let (mut enc_ms, mut plain_ms) = (Vec::with_capacity(n), Vec::with_capacity(n));
        let mut local_ms = Vec::with_capacity(n);
        let mut one = vec![0f32; frames[0].data().len()];
        for (i, f) in frames.iter().cycle().take(n).enumerate() {
            // Alternate which path goes first, too.
            for encrypted in [i % 2 == 0, i % 2 == 1] {
                let t = Instant::now();
                if encrypted {
                    client.classify(f).await.unwrap();
                    enc_ms.push(t.elapsed().as_secs_f64() * 1e3);
                } else {
                    client.infer_tensors(f.data(), 1).await.unwrap();
                    plain_ms.push(t.elapsed().as_secs_f64() * 1e3);
                }
            }
            // The client's own path: fresh key, encryption into the request buffer.
            let t = Instant::now();
            enc.encrypt_fresh_into(std::slice::from_ref(f), &mut one).unwrap();
            std::hint::black_box(&one);
            local_ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let (e, p, l) = (median(&mut enc_ms), median(&mut plain_ms), median(&mut local_ms));
        println!(
            "\nend to end, one frame per request, concurrency 1, median of {n}: encrypted (fresh key + encrypt + request) {e:.3} ms, plain tensor {p:.3} ms, ratio {:.3}; the key and encryption alone: {:.1} us",
            e / p,
            l * 1e3
        );
    });

    if only_e2e {
        return;
    }
    // Past the queue bound: 503s, never errors or lost requests.
    let port = free_port();
    let _server = edgehide_server(port, 8, 4, "0");
    let url = format!("http://127.0.0.1:{port}");
    rt.block_on(wait_ready(&url));
    let c = if full { 256 } else { 32 };
    let total = if full { 4000 } else { 64 };
    let o = rt.block_on(load(&url, encrypted.clone(), c, total));
    println!(
        "\noverload (queue 4 requests, max batch 8, concurrency {c}): {} answered, {} turned away with 503, {} failed, {} lost",
        o.ok,
        o.busy,
        o.failed,
        total - o.ok - o.busy - o.failed
    );
    assert_eq!(o.failed, 0);
    assert_eq!(o.ok + o.busy, total);
}
