//! The inference server over real HTTP on loopback, with real ONNX Runtime:
//! the protocol's routes, JSON and binary tensors, bad input, the queue
//! bound, graceful shutdown of the `edgehide serve` binary, the Rust client,
//! and the Python `tritonclient[http]` a user of the protocol would pick.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use edgehide::client::{AsyncClient, ClientConfig};
use edgehide::{BackendChoice, Encryptor, Error, ModelSpec, Preprocessor, PublicPool};
use edgehide_lab::dataset::{self, Split};
use edgehide_oip::{self as oip, DataType, Payload};
use edgehide_server::ServerConfig;

mod common;
use common::*;

struct Running {
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<edgehide_server::Result<()>>,
}

impl Running {
    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.await.unwrap().unwrap();
    }
}

async fn start(config: ServerConfig) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(edgehide_server::serve(
        listener,
        vec![model()],
        config,
        async {
            let _ = stopped.await;
        },
    ));
    Running {
        url,
        stop: Some(stop),
        task,
    }
}

fn encryptor(spec: ModelSpec) -> Arc<Encryptor> {
    Arc::new(Encryptor::new(spec, &PublicPool::bundled().unwrap(), BackendChoice::Cpu).unwrap())
}

/// The Fashion-MNIST test split (for its labels) and its first `n` images
/// preprocessed for the bundled model.
fn test_frames(n: usize) -> (dataset::Dataset, Vec<edgehide::PlainTensor>) {
    let test = dataset::fashion_mnist(None, Split::Test).unwrap();
    let frames = test
        .preprocess(0..n, &mut Preprocessor::new(model().spec()))
        .unwrap();
    (test, frames)
}

/// `n` encryptions of the first Fashion-MNIST test images, laid end to end.
fn encrypted_batch(n: usize) -> Vec<f32> {
    let (_, frames) = test_frames(n);
    encryptor(model().spec().clone())
        .encrypt_batch_fresh(&frames)
        .unwrap()
        .into_iter()
        .flat_map(|e| e.into_data())
        .collect()
}

/// reqwest is built without a default TLS provider (the client picks ring).
fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

async fn post(
    url: &str,
    body: Vec<u8>,
    header_len: Option<String>,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    post_with(&http(), url, body, header_len).await
}

async fn post_with(
    client: &reqwest::Client,
    url: &str,
    body: Vec<u8>,
    header_len: Option<String>,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let mut req = client
        .post(format!("{url}/v2/models/{NAME}/infer"))
        .body(body);
    if let Some(h) = header_len {
        req = req.header(oip::HEADER_LENGTH, h);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.bytes().await.unwrap().to_vec())
}

async fn get_json(url: &str) -> (u16, serde_json::Value) {
    let resp = http().get(url).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_answer_and_inference_matches_the_model_in_process() {
    let server = start(ServerConfig::default()).await;
    let url = &server.url;
    assert_eq!(
        get_json(&format!("{url}/v2/health/live")).await.1["live"],
        true
    );
    assert_eq!(
        get_json(&format!("{url}/v2/health/ready")).await.1["ready"],
        true
    );
    let (_, meta) = get_json(&format!("{url}/v2")).await;
    assert!(
        meta["extensions"]
            .to_string()
            .contains("binary_tensor_data")
    );
    let (status, meta) = get_json(&format!("{url}/v2/models/{NAME}")).await;
    assert_eq!(status, 200);
    assert_eq!(
        meta["inputs"][0]["shape"],
        serde_json::json!([-1, 1, 28, 28])
    );
    assert_eq!(meta["outputs"][0]["shape"], serde_json::json!([-1, 10]));
    let p = &meta["parameters"];
    assert_eq!(p["scheme"], edgehide::Scheme::InstaHide.name());
    assert_eq!(p["k"], 4);
    assert_eq!(p["upper"], 0.65);
    assert_eq!(p["max_zoom"], 8.0);
    assert_eq!(p["mean"], "0.286");
    assert!(
        p["pool_fingerprint"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    let sidecar = ModelSpec::from_json(p["edgehide_spec"].as_str().unwrap()).unwrap();
    assert_eq!(&sidecar, model().spec());
    assert_eq!(
        get_json(&format!("{url}/v2/models/{NAME}/ready")).await.0,
        200
    );
    assert_eq!(
        get_json(&format!("{url}/v2/models/{NAME}/versions/1"))
            .await
            .0,
        200
    );
    assert_eq!(
        get_json(&format!("{url}/v2/models/{NAME}/versions/2"))
            .await
            .0,
        404
    );

    let n = 5;
    let data = encrypted_batch(n);
    let want = model().logits(data.clone(), n).unwrap();
    for binary in [false, true] {
        let req = oip::encode_request(
            Some("req-7"),
            "input",
            &[n, 1, 28, 28],
            DataType::Fp32,
            &data,
            "logits",
            binary,
        );
        let (status, headers, body) =
            post(url, req.body, req.header_len.map(|h| h.to_string())).await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let header_len = headers
            .get(oip::HEADER_LENGTH)
            .map(|v| v.to_str().unwrap().parse().unwrap());
        assert_eq!(header_len.is_some(), binary);
        let head: serde_json::Value =
            serde_json::from_slice(&body[..header_len.unwrap_or(body.len())]).unwrap();
        assert_eq!(head["id"], "req-7");
        assert_eq!(head["model_name"], NAME);
        let out = oip::decode_response(&body, header_len).unwrap();
        assert_eq!(out[0].shape, [n, 10]);
        for (g, w) in out[0].data.iter().zip(&want) {
            assert!((g - w).abs() <= 1e-5 * w.abs().max(1.0), "{g} vs {w}");
        }
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_a_json_4xx_and_the_server_keeps_serving() {
    let mut config = ServerConfig::default();
    config.max_body_bytes = 1 << 20;
    let server = start(config).await;
    let url = &server.url;
    let good = oip::encode_request(
        None,
        "input",
        &[1, 1, 28, 28],
        DataType::Fp32,
        &[0.5; 784],
        "logits",
        true,
    );
    let h = good.header_len.unwrap();
    let json = |s: &str| s.as_bytes().to_vec();
    let mut nan = good.clone();
    let at = nan.body.len() - 4;
    nan.body[at..].copy_from_slice(&f32::NAN.to_le_bytes());
    let wrong_geometry = oip::encode_request(
        None,
        "input",
        &[1, 1, 27, 28],
        DataType::Fp32,
        &[0.0; 756],
        "logits",
        true,
    );
    // (what, body, Inference-Header-Content-Length, status, words in the error)
    type Case<'a> = (&'a str, Vec<u8>, Option<String>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            "malformed JSON",
            json("{\"inputs\": ["),
            None,
            400,
            "malformed",
        ),
        (
            "wrong shape",
            json(
                r#"{"inputs":[{"name":"input","shape":[1,1,28,27],"datatype":"FP32","data":[0]}]}"#,
            ),
            None,
            400,
            "needs 756 values",
        ),
        (
            "wrong geometry",
            wrong_geometry.body.clone(),
            wrong_geometry.header_len.map(|h| h.to_string()),
            400,
            "does not match the model",
        ),
        (
            "wrong datatype",
            json(
                r#"{"inputs":[{"name":"input","shape":[1,1,28,28],"datatype":"INT32","data":[0]}]}"#,
            ),
            None,
            400,
            "not supported",
        ),
        (
            "truncated binary",
            good.body[..good.body.len() - 10].to_vec(),
            Some(h.to_string()),
            400,
            "truncated",
        ),
        (
            "header past the body",
            good.body.clone(),
            Some((good.body.len() + 5).to_string()),
            400,
            "only",
        ),
        (
            "header not a number",
            good.body.clone(),
            Some("lots".into()),
            400,
            "not a number",
        ),
        ("NaN", nan.body.clone(), Some(h.to_string()), 400, "NaN"),
        (
            "unknown input",
            oip::encode_request(
                None,
                "pixels",
                &[1, 1, 28, 28],
                DataType::Fp32,
                &[0.0; 784],
                "logits",
                false,
            )
            .body,
            None,
            400,
            "unknown input",
        ),
        (
            "unknown output",
            oip::encode_request(
                None,
                "input",
                &[1, 1, 28, 28],
                DataType::Fp32,
                &[0.0; 784],
                "probs",
                false,
            )
            .body,
            None,
            400,
            "unknown output",
        ),
        ("oversized body", vec![b' '; 2 << 20], None, 413, "limit"),
    ];
    for (what, body, header, status, needle) in cases {
        let (got, _, body) = post(url, body, header).await;
        let text = String::from_utf8_lossy(&body);
        assert_eq!(got, status, "{what}: {text}");
        let err: oip::ErrorBody =
            serde_json::from_slice(&body).unwrap_or_else(|_| panic!("{what}: not JSON: {text}"));
        assert!(err.error.contains(needle), "{what}: {}", err.error);
    }
    let resp = http()
        .post(format!("{url}/v2/models/nope/infer"))
        .body(good.body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    assert!(resp.text().await.unwrap().contains("unknown model"));
    // Still serving.
    let (status, _, _) = post(url, good.body.clone(), Some(h.to_string())).await;
    assert_eq!(status, 200);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_answers_503_with_retry_after_and_loses_nothing() {
    let mut config = ServerConfig::default();
    config.max_batch = 256;
    config.queue = 1;
    let server = start(config).await;
    let data = Arc::new(encrypted_batch(1).repeat(256));
    let req = oip::encode_request(
        None,
        "input",
        &[256, 1, 28, 28],
        DataType::Fp32,
        &data,
        "logits",
        true,
    );
    let tasks: Vec<_> = (0..24)
        .map(|_| {
            let (url, body, h) = (
                server.url.clone(),
                req.body.clone(),
                req.header_len.unwrap(),
            );
            tokio::spawn(async move { post(&url, body, Some(h.to_string())).await })
        })
        .collect();
    let (mut ok, mut busy) = (0, 0);
    for t in tasks {
        let (status, headers, body) = t.await.unwrap();
        match status {
            200 => {
                let out = oip::decode_response(
                    &body,
                    headers
                        .get(oip::HEADER_LENGTH)
                        .map(|v| v.to_str().unwrap().parse().unwrap()),
                )
                .unwrap();
                assert_eq!(out[0].shape, [256, 10]);
                ok += 1;
            }
            503 => {
                assert_eq!(headers.get("retry-after").unwrap(), "1");
                busy += 1;
            }
            other => panic!("status {other}: {}", String::from_utf8_lossy(&body)),
        }
    }
    assert!(ok >= 1 && busy >= 1, "{ok} answered, {busy} turned away");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_classifies_and_refuses_a_mismatched_server() {
    let server = start(ServerConfig::default()).await;
    let spec = model().spec().clone();
    let enc = encryptor(spec.clone());
    let n = 200;
    let (test, frames) = test_frames(n);
    for payload in [Payload::F32, Payload::F16] {
        let mut config = ClientConfig::default();
        config.payload = payload;
        let client = AsyncClient::connect(&server.url, NAME, enc.clone(), config)
            .await
            .unwrap();
        let answers = client.classify_batch(&frames).await.unwrap();
        assert_eq!(answers.len(), n);
        let correct = answers
            .iter()
            .zip(&test.labels)
            .filter(|(a, l)| a.class() == **l as usize)
            .count();
        // Chance is 10%; the model card states 79.9% on the full test set.
        assert!(
            correct as f64 / n as f64 > 0.65,
            "{payload:?}: {correct}/{n}"
        );
        let a = &answers[0];
        assert_eq!(a.top.len(), 3);
        assert_eq!(a.label(), spec.labels()[a.class()]);
        assert!(a.top.windows(2).all(|w| w[0].2 >= w[1].2));
        let one = client.classify(&frames[1]).await.unwrap();
        assert_eq!(one.logits.len(), 10);
    }

    // Another k, another normalisation, another corpus: refused before sending.
    let k2 = spec.with_params(spec.params().with_k(2).unwrap()).unwrap();
    let err = AsyncClient::connect(&server.url, NAME, encryptor(k2), ClientConfig::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::ServerMismatch(ref m) if m.contains("encryption parameters")),
        "{err}"
    );
    let other_norm = ModelSpec::new(NAME, spec.geometry(), vec![0.5], vec![0.5], *spec.params())
        .unwrap()
        .with_pool_fingerprint(spec.pool_fingerprint().map(String::from));
    let err = AsyncClient::connect(
        &server.url,
        NAME,
        encryptor(other_norm),
        ClientConfig::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, Error::ServerMismatch(ref m) if m.contains("normalisation")),
        "{err}"
    );
    let err = AsyncClient::connect(&server.url, "nope", enc.clone(), ClientConfig::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Server { status: 404, .. }), "{err}");
    server.stop().await;

    // Nothing listening: a transport error, not a hang.
    let err = AsyncClient::connect(&server_url_nobody(), NAME, enc, ClientConfig::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err}");
}

/// `ClientConfig::prepare_ahead`: keys prepared in the pauses between
/// frames (async and blocking clients), none while frames come back to back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepare_ahead_prepares_in_pauses_only() {
    let server = start(ServerConfig::default()).await;
    let enc = encryptor(model().spec().clone());
    let (test, frames) = test_frames(60);
    // Frame by frame with each next key prepared in the background: the
    // split encryption classifies as well.
    let mut config = ClientConfig::default();
    config.prepare_ahead = true;
    let client = AsyncClient::connect(&server.url, NAME, enc.clone(), config)
        .await
        .unwrap();
    assert!(
        !client.key_ready(),
        "nothing to prepare before the first frame"
    );
    let mut correct = 0;
    for (f, l) in frames.iter().zip(&test.labels) {
        correct += (client.classify(f).await.unwrap().class() == *l as usize) as usize;
        // Idle time, as between a camera's frames: the next key is
        // prepared in it (on this multi-thread runtime, once this task
        // yields), and the next frame takes it.
        tokio::time::sleep(PAUSE).await;
    }
    assert!(correct >= 36, "prepared ahead: {correct}/60");
    assert!(client.key_ready(), "no key prepared in the pauses");

    // Back to back there is no idle time: after the first frames nothing
    // more is prepared (it would run during the next request), and the
    // frames are encrypted on the path, still correctly. Counted, not
    // asserted per frame: on a loaded machine a preempted caller can look
    // paused now and then. Preparing regardless would leave a key ready
    // after nearly every frame (each prepared during the next request).
    let (mut correct, mut ready_after) = (0, 0);
    for (f, l) in frames.iter().zip(&test.labels).take(12) {
        correct += (client.classify(f).await.unwrap().class() == *l as usize) as usize;
        ready_after += client.key_ready() as usize;
    }
    assert!(correct >= 6, "back to back: {correct}/12");
    assert!(
        ready_after <= 4,
        "prepared while back to back: {ready_after}/12"
    );
    // A long pause, then a frame: preparing resumes.
    tokio::time::sleep(LONG_PAUSE).await;
    client.classify(&frames[0]).await.unwrap();
    tokio::time::sleep(LONG_PAUSE).await;
    assert!(client.key_ready(), "no key after a pause");

    // The same through the blocking client (its runtime is current-thread,
    // so the background work starts before `classify` returns), on a
    // thread of its own, outside this test's runtime.
    let some: Vec<edgehide::PlainTensor> = frames[..12]
        .iter()
        .map(|x| edgehide::PlainTensor::new(x.geometry(), x.data().to_vec()).unwrap())
        .collect();
    let (url, enc2) = (server.url.clone(), enc.clone());
    let labels: Vec<u8> = test.labels[..12].to_vec();
    let blocking = std::thread::spawn(move || {
        let mut config = ClientConfig::default();
        config.prepare_ahead = true;
        let client = edgehide::client::Client::connect(&url, NAME, enc2, config).unwrap();
        let mut correct = 0;
        let mut ready = Vec::new();
        for (f, l) in some.iter().zip(&labels) {
            correct += (client.classify(f).unwrap().class() == *l as usize) as usize;
            std::thread::sleep(PAUSE);
            ready.push(client.key_ready());
        }
        (correct, ready)
    });
    let (correct, ready) = tokio::task::spawn_blocking(move || blocking.join().unwrap())
        .await
        .unwrap();
    assert!(correct >= 6, "blocking, prepared ahead: {correct}/12");
    // Prepared in each pause itself, the first included (not during the
    // next call, where a current-thread runtime would run a spawned task).
    assert!(
        ready.iter().all(|r| *r),
        "blocking: keys ready after pauses: {ready:?}"
    );

    server.stop().await;
}

/// A camera's pause between frames (30 frames a second leave 33 ms), many
/// times what preparing a 28x28 key takes (tens of microseconds, more on a
/// busy CI machine), and a pause long enough for any.
const PAUSE: Duration = Duration::from_millis(20);
const LONG_PAUSE: Duration = Duration::from_millis(200);

fn server_url_nobody() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}")
}

#[test]
fn the_blocking_client_times_out_on_a_silent_server() {
    // Accepts connections and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let mut config = ClientConfig::default();
    config.timeout = Duration::from_millis(300);
    config.retries = 1;
    let spec = ModelSpec::fashion_mnist();
    let started = Instant::now();
    let err = edgehide::client::Client::connect(&url, NAME, encryptor(spec), config).unwrap_err();
    assert!(
        matches!(err, Error::Transport(ref m) if m.contains("timed out")),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(silent);
}

/// `edgehide serve` on a loopback port with the bundled model and `args`:
/// the child, its stdout after the listening line, and its URL.
fn spawn_serve(
    args: &[&str],
) -> (
    std::process::Child,
    std::io::BufReader<std::process::ChildStdout>,
    String,
) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_edgehide"))
        .args(["serve", "--addr", "127.0.0.1:0"])
        .args(args)
        .arg("--model")
        .arg(model_path())
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    (child, out, url)
}

#[test]
fn serve_binary_finishes_accepted_requests_on_sigterm() {
    let (mut child, mut out, url) = spawn_serve(&["--max-batch", "4096", "--max-delay-ms", "2000"]);
    let data = encrypted_batch(2);
    let req = oip::encode_request(
        None,
        "input",
        &[2, 1, 28, 28],
        DataType::Fp32,
        &data,
        "logits",
        true,
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = http();
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let (url, body, h) = (url.clone(), req.body.clone(), req.header_len.unwrap());
            let client = client.clone();
            rt.spawn(async move {
                let status = post_with(&client, &url, body, Some(h.to_string())).await.0;
                (status, Instant::now())
            })
        })
        .collect();
    // The requests now wait for company in their batch (up to 2 s): stop
    // the server while they are accepted but unanswered.
    std::thread::sleep(Duration::from_millis(700));
    let pid = child.id() as i32;
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let killed = Instant::now();
    let answers: Vec<(u16, Instant)> = tasks.into_iter().map(|t| rt.block_on(t).unwrap()).collect();
    assert!(answers.iter().all(|a| a.0 == 200), "{answers:?}");
    // They were answered after the signal, so the shutdown waited for them.
    assert!(answers.iter().all(|a| a.1 > killed));
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    assert!(rest.contains("stopped"), "{rest}");
}

/// The protocol's own Python client drives the server (binary and JSON).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tritonclient_http_drives_the_server() {
    let server = start(ServerConfig::default()).await;
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    let python = root.join(".venv/bin/python");
    let url = server.url.trim_start_matches("http://").to_string();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tritonclient_check.py");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(&python)
            .arg(script)
            .arg(&url)
            .arg(NAME)
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
    assert!(text.contains("tritonclient: ok"), "{text}");
    server.stop().await;
}

/// Work per request is bounded: more frames than `max_frames` are refused
/// at once with the limit in the message, values far outside the range of
/// encryptions are refused before inference (they can drive the model to
/// infinite scores), and the client splits a large batch into requests the
/// server takes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_per_request_is_bounded_and_large_batches_are_split_by_the_client() {
    let mut config = ServerConfig::default();
    config.max_batch = 8;
    config.max_frames = Some(16);
    let server = start(config).await;
    let url = &server.url;
    let many = oip::encode_request(
        None,
        "input",
        &[17, 1, 28, 28],
        DataType::Fp32,
        &[0.5; 17 * 784],
        "logits",
        true,
    );
    let (status, _, body) = post(url, many.body, many.header_len.map(|n| n.to_string())).await;
    let text = String::from_utf8_lossy(&body);
    assert_eq!(status, 413, "{text}");
    assert!(
        text.contains("17 frames") && text.contains("at most 16"),
        "{text}"
    );
    let huge = oip::encode_request(
        None,
        "input",
        &[1, 1, 28, 28],
        DataType::Fp32,
        &[3e38; 784],
        "logits",
        true,
    );
    let (status, _, body) = post(url, huge.body, huge.header_len.map(|n| n.to_string())).await;
    let text = String::from_utf8_lossy(&body);
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("outside"), "{text}");
    // 40 frames through a client that sends at most 16 per request.
    let (test, frames) = test_frames(40);
    let mut cfg = ClientConfig::default();
    cfg.max_frames_per_request = 16;
    let client = AsyncClient::connect(url, NAME, encryptor(model().spec().clone()), cfg)
        .await
        .unwrap();
    let answers = client.classify_batch(&frames).await.unwrap();
    assert_eq!(answers.len(), 40);
    let correct = answers
        .iter()
        .zip(&test.labels)
        .filter(|(a, l)| a.class() == **l as usize)
        .count();
    assert!(correct >= 24, "{correct}/40");
    server.stop().await;
}

/// Reads from `stream` until the server closes it (or `limit` passes) and
/// returns what it sent.
async fn read_until_closed(stream: &mut tokio::net::TcpStream, limit: Duration) -> Option<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(got),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// Silent, half-sent and slow connections are closed within the configured
/// times while other clients are served; an oversized body is refused from
/// its declared length, before any `100 Continue`; a wrong method gets the
/// JSON error body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_silent_and_oversized_connections_are_cut_while_others_are_served() {
    use tokio::io::AsyncWriteExt;
    let mut config = ServerConfig::default();
    config.header_timeout = Duration::from_millis(600);
    config.body_timeout = Duration::from_millis(600);
    config.max_body_bytes = 1 << 20;
    let server = start(config).await;
    let addr = server.url.trim_start_matches("http://").to_string();
    let connect = || tokio::net::TcpStream::connect(addr.clone());
    let started = Instant::now();
    let mut silent = connect().await.unwrap();
    let mut half = connect().await.unwrap();
    half.write_all(b"GET /v2 HTTP/1.1\r\nHost: a\r\nX-Slow: ")
        .await
        .unwrap();
    let mut slow_body = connect().await.unwrap();
    slow_body
        .write_all(
            format!(
                "POST /v2/models/{NAME}/infer HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n{{\"inputs\":"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    // Served meanwhile.
    let (status, _) = get_json(&format!("{}/v2/health/ready", server.url)).await;
    assert_eq!(status, 200);
    let limit = Duration::from_secs(5);
    assert!(
        read_until_closed(&mut silent, limit).await.is_some(),
        "a silent connection stays open"
    );
    assert!(
        read_until_closed(&mut half, limit).await.is_some(),
        "a half-sent request stays open"
    );
    let answer = read_until_closed(&mut slow_body, limit)
        .await
        .expect("a slow body stays open");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("\"error\""), "{text}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    // An idle keep-alive connection is closed after the header timeout too.
    let mut idle = connect().await.unwrap();
    idle.write_all(b"GET /v2/health/live HTTP/1.1\r\nHost: a\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut idle, limit)
        .await
        .expect("idle connection kept");
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"));
    // 1 GiB declared, a few bytes sent, and a client waiting for 100 Continue.
    let mut big = connect().await.unwrap();
    big.write_all(
        format!(
            "POST /v2/models/{NAME}/infer HTTP/1.1\r\nHost: a\r\nContent-Length: 1073741824\r\nExpect: 100-continue\r\n\r\n"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let answer = read_until_closed(&mut big, limit)
        .await
        .expect("oversized kept");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(!text.contains("100 Continue"), "{text}");
    assert!(text.contains("exceeds the server's limit"), "{text}");
    let resp = http()
        .delete(format!("{}/v2/models/{NAME}/infer", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 405);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert!(body["error"].is_string(), "{body}");
    server.stop().await;
}

/// SIGTERM while a client holds a half-sent request: the server still exits,
/// with status 0, within its grace period.
#[test]
fn serve_binary_exits_within_the_grace_period_with_a_request_half_sent() {
    use std::io::Write;
    let (mut child, _out, url) =
        spawn_serve(&["--shutdown-grace-s", "1", "--header-timeout-s", "60"]);
    let addr = url.trim_start_matches("http://").to_string();
    let mut half = std::net::TcpStream::connect(&addr).unwrap();
    half.write_all(
        format!(
            "POST /v2/models/{NAME}/infer HTTP/1.1\r\nHost: a\r\nContent-Length: 500\r\n\r\n{{"
        )
        .as_bytes(),
    )
    .unwrap();
    let mut silent = std::net::TcpStream::connect(&addr).unwrap();
    silent.write_all(b"GET /v2 HTTP/1.1\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let signalled = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(5),
            "still running 5 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    assert!(
        signalled.elapsed() < Duration::from_secs(3),
        "{:?}",
        signalled.elapsed()
    );
    drop((half, silent));
}

/// Past `max_connections` a new connection waits in the backlog until one
/// closes (here: two silent ones, cut by the header timeout) and is then
/// served; nothing is refused or lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_limit_wait_for_a_free_slot() {
    let mut config = ServerConfig::default();
    config.max_connections = 2;
    config.header_timeout = Duration::from_millis(700);
    let server = start(config).await;
    let addr = server.url.trim_start_matches("http://").to_string();
    let a = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let b = tokio::net::TcpStream::connect(&addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let (status, _) = get_json(&format!("{}/v2/health/live", server.url)).await;
    assert_eq!(status, 200);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(400),
        "served at once past the limit ({waited:?})"
    );
    drop((a, b));
    server.stop().await;
}

/// Sends `head` (a whole request head, no body) on a fresh connection and
/// returns the status and body of the answer.
async fn raw_request(addr: &str, head: &[u8]) -> (u16, String) {
    use tokio::io::AsyncWriteExt;
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(head).await.unwrap();
    let got = read_until_closed(&mut s, Duration::from_secs(10))
        .await
        .expect("the server answers and closes");
    let text = String::from_utf8_lossy(&got).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"));
    let body = text
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_string();
    (status, body)
}

/// Requests the framework would refuse with a bare status get the JSON
/// error body too: a long target (414), large headers (431), a path that is
/// not UTF-8 once decoded (400). Past HTTP's own parser limit the answer is
/// still 431, without a body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_targets_large_headers_and_odd_paths_get_the_json_error() {
    let server = start(ServerConfig::default()).await;
    let addr = server.url.trim_start_matches("http://").to_string();
    let long = format!(
        "GET /v2?{} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        "q".repeat(10 << 10)
    );
    let large = format!(
        "GET /v2 HTTP/1.1\r\nHost: a\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
        "h".repeat(40 << 10)
    );
    let odd = "GET /v2/models/%FF%FE/ready HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    let cases = [
        (long.as_str(), 414, "request target"),
        (large.as_str(), 431, "headers"),
        (odd, 400, "UTF-8"),
    ];
    for (head, want, needle) in cases {
        let (status, body) = raw_request(&addr, head.as_bytes()).await;
        assert_eq!(status, want, "{body}");
        let err: oip::ErrorBody =
            serde_json::from_str(&body).unwrap_or_else(|_| panic!("not JSON: {body:?}"));
        assert!(err.error.contains(needle), "{}", err.error);
    }
    let huge = format!(
        "GET /v2 HTTP/1.1\r\nHost: a\r\nX-Huge: {}\r\n\r\n",
        "h".repeat(600 << 10)
    );
    let (status, _) = raw_request(&addr, huge.as_bytes()).await;
    assert_eq!(status, 431);
    let (status, _) = get_json(&format!("{}/v2", server.url)).await;
    assert_eq!(status, 200, "still serving");
    server.stop().await;
}

/// A request of many frames runs in batches taking turns with the others:
/// a one-frame request sent while two large ones are in flight is answered
/// before either of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_request_is_not_held_behind_large_ones() {
    let mut config = ServerConfig::default();
    config.max_batch = 1;
    config.max_frames = Some(2048);
    let server = start(config).await;
    let url = server.url.clone();
    let big = oip::encode_request(
        None,
        "input",
        &[2048, 1, 28, 28],
        DataType::Fp32,
        &vec![0.5; 2048 * 784],
        "logits",
        true,
    );
    let small = oip::encode_request(
        None,
        "input",
        &[1, 1, 28, 28],
        DataType::Fp32,
        &[0.5; 784],
        "logits",
        true,
    );
    let done = Arc::new(std::sync::Mutex::new(Vec::new()));
    let send = |what: &'static str, req: oip::Encoded| {
        let (url, done) = (url.clone(), done.clone());
        tokio::spawn(async move {
            let (status, _, body) =
                post(&url, req.body, req.header_len.map(|n| n.to_string())).await;
            assert_eq!(status, 200, "{what}: {}", String::from_utf8_lossy(&body));
            done.lock().unwrap().push(what);
        })
    };
    let bigs = [send("big", big.clone()), send("big", big)];
    // Both large requests are running (the queue holds them) before the
    // small one is sent.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        done.lock().unwrap().is_empty(),
        "the large requests ended too soon to judge"
    );
    let small = send("small", small);
    small.await.unwrap();
    for b in bigs {
        b.await.unwrap();
    }
    assert_eq!(*done.lock().unwrap(), ["small", "big", "big"]);
    server.stop().await;
}

/// Heap and stacks (anonymous resident memory) of process `pid`, in MiB.
fn heap_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("RssAnon:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib / 1024.0
}

/// After a burst of large batches the server hands back what ONNX Runtime's
/// arena and the allocator grew to: its heap returns to near where it was
/// once warm.
#[test]
fn serve_binary_hands_memory_back_after_a_burst() {
    let (child, _out, url) = spawn_serve(&["--max-batch", "512", "--max-frames", "512"]);
    let pid = child.id();
    let mut child = Reaped(child);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let request = |n: usize| {
        oip::encode_request(
            None,
            "input",
            &[n, 1, 28, 28],
            DataType::Fp32,
            &vec![0.25; n * 784],
            "logits",
            true,
        )
    };
    let send = |reqs: Vec<oip::Encoded>| {
        let client = http();
        let tasks: Vec<_> = reqs
            .into_iter()
            .map(|r| {
                let (client, url) = (client.clone(), url.clone());
                rt.spawn(async move {
                    post_with(&client, &url, r.body, r.header_len.map(|n| n.to_string()))
                        .await
                        .0
                })
            })
            .collect();
        for t in tasks {
            assert_eq!(rt.block_on(t).unwrap(), 200);
        }
    };
    send(vec![request(1), request(64), request(1)]);
    std::thread::sleep(Duration::from_millis(500));
    let warm = heap_mib(pid);
    send((0..8).map(|_| request(512)).collect());
    std::thread::sleep(Duration::from_secs(2));
    let after = heap_mib(pid);
    eprintln!("server heap: {warm:.1} MiB warm, {after:.1} MiB 2 s after 8 requests of 512 frames");
    assert!(after < warm + 16.0, "{warm:.1} -> {after:.1} MiB");
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGTERM) }, 0);
    assert!(child.0.wait().unwrap().success());
}
