//! Load on loopback: edgehide's server (the `edgehide serve` binary, batching
//! on and off) against the Python peer (benches/peer_fastapi.py: FastAPI +
//! onnxruntime), the same binary requests; the encrypted end-to-end path
//! against sending the plain tensor; and the queue bound under overload.
//!
//!     cargo bench -p edgehide-cli --bench serve        # full run, prints the tables
//!     cargo bench -p edgehide-cli --bench serve -- e2e # only the end-to-end comparison
//!     cargo bench -p edgehide-cli --bench serve -- e2e paced # the same, 1 ms idle per request
//!     cargo bench -p edgehide-cli --bench serve -- e2e split # client and server on their own cores
//!     cargo bench -p edgehide-cli --bench serve -- soak  # a minute of good, bad and slow clients
//!     cargo bench -p edgehide-cli --bench serve -- engines # REST and gRPC beside MLServer and FastAPI
//!
//! With `split` (any mode) the load generator runs on the last CPU it may use
//! and every server it starts on the others. Otherwise they share all cores,
//! and so their caches, which a device and a remote server never do.
//!
//! Back to back, `e2e` also times a `prepare_ahead` client in blocks of one
//! kind of request (it prepares nothing without pauses).
//!
//! Under `cargo test --all-targets` it runs a few requests as a smoke test.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use edgehide::client::{AsyncClient, ClientConfig};
use edgehide::{BackendChoice, Encryptor, Preprocessor, PublicPool};
use edgehide_lab::dataset::{self, Split};
use edgehide_oip::{self as oip, DataType};
use rand::seq::SliceRandom;

const NAME: &str = "fashion-mnist-k4";

/// The repository root (this crate is `crates/cli`).
fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
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

/// `split`: the CPUs for the servers, once the load generator has pinned
/// itself to the last one.
static SERVER_CPUS: std::sync::OnceLock<libc::cpu_set_t> = std::sync::OnceLock::new();

fn cpu_set(cpus: &[usize]) -> libc::cpu_set_t {
    // SAFETY: cpu_set_t is a plain bit array (all zeros: the empty set).
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for &c in cpus {
        // SAFETY: `set` is a live set; CPU_SET ignores CPUs past its size.
        unsafe { libc::CPU_SET(c, &mut set) };
    }
    set
}

/// Restricts the calling thread (and the threads and processes it starts
/// later) to `set`. One system call, so safe between fork and exec too.
fn pin(set: &libc::cpu_set_t) -> std::io::Result<()> {
    // SAFETY: `set` is a live set of the size given.
    match unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), set) } {
        0 => Ok(()),
        _ => Err(std::io::Error::last_os_error()),
    }
}

/// Pins the calling thread to the last CPU it may use and records the
/// others for the servers. Call before the runtime starts its workers.
fn split_cpus() -> (Vec<usize>, usize) {
    let mut allowed = cpu_set(&[]);
    // SAFETY: `allowed` is a live set of the size given.
    let rc =
        unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut allowed) };
    assert_eq!(
        rc,
        0,
        "sched_getaffinity: {}",
        std::io::Error::last_os_error()
    );
    let cpus: Vec<usize> = (0..libc::CPU_SETSIZE as usize)
        // SAFETY: `allowed` is a live set.
        .filter(|&c| unsafe { libc::CPU_ISSET(c, &allowed) })
        .collect();
    let (&client, servers) = cpus.split_last().unwrap();
    assert!(!servers.is_empty(), "split needs at least two CPUs");
    pin(&cpu_set(&[client])).unwrap();
    SERVER_CPUS.set(cpu_set(servers)).unwrap();
    (servers.to_vec(), client)
}

/// Starts a server, on the servers' CPUs under `split`.
fn spawn_server(cmd: &mut Command) -> Proc {
    if let Some(&set) = SERVER_CPUS.get() {
        use std::os::unix::process::CommandExt;
        // SAFETY: the closure runs between fork and exec and makes one
        // system call, which is async-signal-safe.
        unsafe { cmd.pre_exec(move || pin(&set)) };
    }
    Proc(cmd.stdout(Stdio::null()).spawn().unwrap())
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
    spawn_server(
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
            .arg(model_path()),
    )
}

#[path = "serve/soak.rs"]
mod soak;

#[path = "serve/engines.rs"]
mod engines;

/// The soak run (see `soak`): `edgehide serve` with short connection
/// timeouts, then mixed clients for `length`.
fn soak_run(rt: &tokio::runtime::Runtime, encrypted: &[Vec<f32>], length: Duration) {
    let port = free_port();
    let server = spawn_server(
        Command::new(env!("CARGO_BIN_EXE_edgehide"))
            .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
            .args(["--header-timeout-s", "2", "--body-timeout-s", "2"])
            .arg("--model")
            .arg(model_path()),
    );
    let url = format!("http://127.0.0.1:{port}");
    rt.block_on(wait_ready(&url));
    let (one, h) = bodies(&encrypted[..1]).0.remove(0);
    let flat: Vec<f32> = encrypted[..64].concat();
    let big = oip::encode_request(
        None,
        "input",
        &[64, 1, 28, 28],
        DataType::Fp32,
        &flat,
        "logits",
        true,
    );
    rt.block_on(soak::run(
        &url,
        server.0.id(),
        length,
        Arc::new((one, h.unwrap())),
        Arc::new((big.body, big.header_len.unwrap())),
    ));
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
    Some(spawn_server(
        Command::new(python)
            .arg(root().join("benches/peer_fastapi.py"))
            .arg(model_path())
            .arg(port.to_string()),
    ))
}

/// One request body per frame, with its binary header length (none for
/// JSON).
struct Bodies(Vec<(Vec<u8>, Option<usize>)>);

fn bodies(tensors: &[Vec<f32>]) -> Bodies {
    encoded_bodies(tensors, true)
}

fn encoded_bodies(tensors: &[Vec<f32>], binary: bool) -> Bodies {
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
                    binary,
                );
                (e.body, e.header_len)
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
    /// The workers' outcomes together, over the wall time since `started`.
    async fn gather(workers: Vec<tokio::task::JoinHandle<Outcome>>, started: Instant) -> Outcome {
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

/// The median of `v` (sorted in place); NaN when empty.
fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
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
                    let mut req = client.post(&target).body(body.clone());
                    req = match h {
                        Some(h) => req.header(oip::HEADER_LENGTH, *h),
                        None => req.header("content-type", "application/json"),
                    };
                    let r = req.send().await;
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
    Outcome::gather(workers, started).await
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
    if std::env::args().any(|a| a == "split") {
        let (servers, client) = split_cpus();
        println!("split: servers on CPUs {servers:?}, load generator on CPU {client}\n");
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let spec = edgehide_server::Model::load(
        edgehide_lab::paths::load_runtime().unwrap(),
        &model_path(),
        None,
    )
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
    if std::env::args().any(|a| a == "engines") || !full {
        engines::run(&rt, &encrypted, full);
        if full {
            return;
        }
    }
    if std::env::args().any(|a| a == "soak") || !full {
        let length = if full {
            Duration::from_secs(60)
        } else {
            Duration::from_secs(2)
        };
        soak_run(&rt, &encrypted, length);
        if full {
            return;
        }
    }
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
    // per request, one client, the same server, back to back (or, with
    // `paced`, after 1 ms idle each, like a camera's frames). Controls tell
    // where the difference comes from: the plain tensor after the client
    // spins for 10 us (what any 10 us of client work costs the round trip),
    // after an encryption timed on its own (its cost in situ, and the
    // request after it), and after 3 us of 512-bit float arithmetic (the
    // clock slowdown such instructions leave behind on Intel cores).
    let paced = std::env::args().any(|a| a == "paced");
    let port = free_port();
    let _server = edgehide_server(port, 64, 4096, "0");
    let url = format!("http://127.0.0.1:{port}");
    rt.block_on(async {
        wait_ready(&url).await;
        let client = AsyncClient::connect(&url, NAME, enc.clone(), ClientConfig::default()).await.unwrap();
        // The same, preparing each next key in the idle time after an answer
        // (paced runs only: back to back there is no idle time, and the
        // background work would land on whichever request runs next).
        let mut ahead = ClientConfig::default();
        ahead.prepare_ahead = true;
        let prepared = AsyncClient::connect(&url, NAME, enc.clone(), ahead).await.unwrap();
        let paths = [
            "encrypted (fresh key + encrypt + request)",
            "plain tensor",
            "plain tensor after a 10 us spin",
            "plain tensor after an encryption",
            "plain tensor after 3 us of 512-bit float work",
            "encrypted, key prepared ahead",
        ];
        let wide = wide_floats::available();
        let n = if full { 3000 } else { 10 };
        // Per path: whole time; and for the split ones, the work before
        // the request and the request after it.
        let mut ms: [[Vec<f64>; 3]; 6] = Default::default();
        let mut one = vec![0f32; frames[0].data().len()];
        // Each round runs the paths in a fresh random order (a fixed one
        // would favour whichever follows the client's idle wait).
        let mut order: Vec<usize> = (0..6).filter(|&p| (p != 4 || wide) && (p != 5 || paced)).collect();
        let mut rng = <rand_chacha::ChaCha8Rng as rand_core::SeedableRng>::seed_from_u64(1);
        for f in frames.iter().cycle().take(n) {
            order.shuffle(&mut rng);
            for &path in &order {
                if paced {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                let t = Instant::now();
                match path {
                    0 => drop(client.classify(f).await.unwrap()),
                    5 => drop(prepared.classify(f).await.unwrap()),
                    1 => drop(client.infer_tensors(f.data(), 1).await.unwrap()),
                    2 => {
                        while t.elapsed() < Duration::from_micros(10) {
                            std::hint::spin_loop();
                        }
                        client.infer_tensors(f.data(), 1).await.unwrap();
                    }
                    _ => {
                        if path == 3 {
                            enc.encrypt_fresh_into(std::slice::from_ref(f), &mut one).unwrap();
                            std::hint::black_box(&one);
                        } else {
                            wide_floats::burst(Duration::from_micros(3));
                        }
                        let t1 = Instant::now();
                        client.infer_tensors(f.data(), 1).await.unwrap();
                        ms[path][1].push((t1 - t).as_secs_f64() * 1e3);
                        ms[path][2].push(t1.elapsed().as_secs_f64() * 1e3);
                    }
                }
                ms[path][0].push(t.elapsed().as_secs_f64() * 1e3);
            }
        }
        let m: Vec<[f64; 3]> = ms.iter_mut().map(|p| p.each_mut().map(|v| median(v))).collect();
        let plain = m[1][0];
        println!(
            "\nend to end, one frame per request, concurrency 1, {}, medians of {n} rounds (paths in random order):",
            if paced { "1 ms idle before each request" } else { "back to back" }
        );
        for (path, name) in paths.iter().enumerate().filter(|(p, _)| order.contains(p)) {
            println!("  {name:48} {:.3} ms  ({:+5.1} us against plain)", m[path][0], (m[path][0] - plain) * 1e3);
            if path == 3 || path == 4 {
                println!(
                    "    the work alone {:.1} us; the request after it {:+.1} us against plain",
                    m[path][1] * 1e3,
                    (m[path][2] - plain) * 1e3
                );
            }
        }
        println!("encrypted / plain: {:.3}", m[0][0] / plain);
        if paced {
            println!("encrypted with the key prepared ahead / plain: {:.3}", m[5][0] / plain);
            return;
        }
        // Back to back, preparing ahead is measured in blocks of one kind:
        // in the mixed order above its background work would land on
        // whichever request came next, another path's.
        let (rounds, block) = if full { (30, 100) } else { (2, 5) };
        let mut times: [Vec<f64>; 3] = Default::default();
        let mut kinds = [0usize, 1, 2];
        for _ in 0..rounds {
            kinds.shuffle(&mut rng);
            for &kind in &kinds {
                for f in frames.iter().cycle().take(block) {
                    let t = Instant::now();
                    match kind {
                        0 => drop(client.infer_tensors(f.data(), 1).await.unwrap()),
                        1 => drop(prepared.classify(f).await.unwrap()),
                        _ => drop(client.classify(f).await.unwrap()),
                    }
                    times[kind].push(t.elapsed().as_secs_f64() * 1e3);
                }
            }
        }
        let [plain, ahead, on_path] = times.map(|mut v| median(&mut v));
        println!(
            "\nback to back in blocks of {block} requests of one kind, {rounds} rounds, medians:\n  \
             plain {plain:.3} ms, prepare_ahead {ahead:.3} ms ({:.3}x), encrypting on the path {on_path:.3} ms ({:.3}x)",
            ahead / plain,
            on_path / plain
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

/// 512-bit float arithmetic for the end-to-end controls (x86-64 with
/// AVX-512 only).
mod wide_floats {
    use std::time::{Duration, Instant};

    pub fn available() -> bool {
        #[cfg(target_arch = "x86_64")]
        return is_x86_feature_detected!("avx512f");
        #[cfg(not(target_arch = "x86_64"))]
        false
    }

    /// Multiplies and adds in 512-bit registers for `d`.
    pub fn burst(d: Duration) {
        #[cfg(target_arch = "x86_64")]
        if available() {
            // SAFETY: the CPU has AVX-512F (checked above).
            unsafe { run(d) }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = d;
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    fn run(d: Duration) {
        use std::arch::x86_64::*;
        let start = Instant::now();
        let mut acc = [_mm512_set1_ps(1.0); 8];
        let (m, c) = (_mm512_set1_ps(0.999_999), _mm512_set1_ps(1e-7));
        while start.elapsed() < d {
            for _ in 0..64 {
                for a in &mut acc {
                    *a = _mm512_add_ps(_mm512_mul_ps(*a, m), c);
                }
            }
        }
        std::hint::black_box(acc);
    }
}
