//! edgehide's client against other servers of the Open Inference Protocol,
//! started here on loopback from the files `edgehide export` writes:
//! MLServer 1.7.1 (JSON tensors only, announces the sidecar) and KServe
//! 0.21.0's Python ModelServer (binary tensors, announces nothing). For the
//! same encryptions they give the same predictions as edgehide's own
//! server. The exported Triton configuration is parsed with Triton's own
//! schema (Triton itself cannot run here). And `edgehide classify` against
//! each.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use edgehide::client::{AsyncClient, ClientConfig, Encoding, Protocol, SpecSource};
use edgehide::{BackendChoice, Encryption, Encryptor, ModelSpec, Preprocessor, PublicPool};
use edgehide_lab::dataset::{self, Split};

mod common;
use common::*;

const FRAMES: usize = 200;

/// A server process, killed with its children when dropped.
struct Peer {
    child: Child,
    url: String,
    /// Its gRPC service, `http://127.0.0.1:PORT`.
    grpc: String,
    _home: tempfile::TempDir,
}

impl Drop for Peer {
    fn drop(&mut self) {
        // SAFETY: signalling the process group this test started.
        unsafe { libc::kill(-(self.child.id() as i32), libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

/// Starts `cmd` in a process group of its own, with `HOME` in a fresh
/// folder, and waits until `GET /v2/health/ready` answers 200.
fn start_peer(mut cmd: Command, port: u16, grpc_port: u16, what: &str) -> Peer {
    use std::os::unix::process::CommandExt;
    let home = tempfile::tempdir().unwrap();
    cmd.env("HOME", home.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .process_group(0);
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: cannot start ({e}); run scripts/install-deps.sh"));
    let peer = Peer {
        child,
        url: format!("http://127.0.0.1:{port}"),
        grpc: format!("http://127.0.0.1:{grpc_port}"),
        _home: home,
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if ready(port) {
            return peer;
        }
        assert!(Instant::now() < deadline, "{what} did not become ready");
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Whether `GET /v2/health/ready` on `port` answers 200.
fn ready(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let mut answer = Vec::new();
    s.write_all(b"GET /v2/health/ready HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .is_ok()
        && s.read_to_end(&mut answer).is_ok()
        && answer.starts_with(b"HTTP/1.")
        && answer.get(9..12) == Some(b"200".as_slice())
}

fn export(flag: &str, dir: &Path) {
    let out = edgehide()
        .arg("export")
        .arg("--model")
        .arg(model_path())
        .arg(flag)
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn edgehide_server() -> Peer {
    let (port, grpc) = (free_port(), free_port());
    let mut cmd = edgehide();
    cmd.args(["serve", "--addr", &format!("127.0.0.1:{port}")])
        .args(["--grpc-addr", &format!("127.0.0.1:{grpc}"), "--model"])
        .arg(model_path());
    start_peer(cmd, port, grpc, "edgehide serve")
}

fn mlserver(dir: &Path) -> Peer {
    export("--mlserver", dir);
    let (port, grpc) = (free_port(), free_port());
    let mut cmd = Command::new(root().join(".venv-mlserver/bin/mlserver"));
    cmd.arg("start")
        .arg(dir)
        .env("MLSERVER_HOST", "127.0.0.1")
        .env("MLSERVER_HTTP_PORT", port.to_string())
        .env("MLSERVER_GRPC_PORT", grpc.to_string())
        .env("MLSERVER_METRICS_PORT", free_port().to_string())
        .stderr(Stdio::null());
    start_peer(cmd, port, grpc, "MLServer")
}

fn kserve(dir: &Path) -> Peer {
    export("--kserve", dir);
    let (port, grpc) = (free_port(), free_port());
    let mut cmd = Command::new(root().join(".venv-kserve/bin/python"));
    cmd.arg(dir.join("edgehide_kserve.py"))
        .args(["--model_name", NAME, "--onnx"])
        .arg(dir.join("model.onnx"))
        .args(["--http_port", &port.to_string()])
        .args(["--grpc_port", &grpc.to_string()])
        .stderr(Stdio::null());
    start_peer(cmd, port, grpc, "KServe ModelServer")
}

fn spec() -> ModelSpec {
    ModelSpec::from_json_file(&model_path().with_extension("json")).unwrap()
}

fn encryptor() -> Arc<Encryptor> {
    Arc::new(Encryptor::new(spec(), &PublicPool::bundled().unwrap(), BackendChoice::Cpu).unwrap())
}

/// Encryptions of the first Fashion-MNIST test images, made once and sent
/// to every server.
fn encryptions(n: usize) -> Vec<Encryption> {
    let test = dataset::fashion_mnist(None, Split::Test).unwrap();
    let frames = test
        .preprocess(0..n, &mut Preprocessor::new(&spec()))
        .unwrap();
    encryptor().encrypt_batch_fresh(&frames).unwrap()
}

/// Classes and logits from `url` for `encs`, and how the client connected.
async fn classify(
    url: &str,
    protocol: Protocol,
    encs: &[Encryption],
) -> (Vec<usize>, Vec<f32>, SpecSource, Encoding) {
    let mut config = ClientConfig::default();
    config.protocol = protocol;
    let client = AsyncClient::connect(url, NAME, encryptor(), config)
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let answers = client.classify_encrypted(encs).await.unwrap();
    (
        answers.iter().map(|a| a.class()).collect(),
        answers.iter().flat_map(|a| a.logits.clone()).collect(),
        client.spec_source(),
        client.encoding(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mlserver_and_kserve_answer_as_edgehide_serve_does() {
    let dir = tempfile::tempdir().unwrap();
    let ours = edgehide_server();
    let ml = mlserver(&dir.path().join("mlserver"));
    let ks = kserve(&dir.path().join("kserve"));
    let encs = encryptions(FRAMES);
    let (want, want_logits, source, encoding) = classify(&ours.url, Protocol::Rest, &encs).await;
    assert_eq!((source, encoding), (SpecSource::Metadata, Encoding::Binary));
    let test = dataset::fashion_mnist(None, Split::Test).unwrap();
    let correct = want
        .iter()
        .zip(&test.labels)
        .filter(|(c, l)| **c == **l as usize)
        .count();
    assert!(correct >= FRAMES * 7 / 10, "{correct}/{FRAMES}");
    for (url, protocol, what, source, encoding) in [
        (
            &ours.grpc,
            Protocol::Grpc,
            "edgehide gRPC",
            SpecSource::Metadata,
            Encoding::Binary,
        ),
        (
            &ml.url,
            Protocol::Rest,
            "MLServer",
            SpecSource::Metadata,
            Encoding::Json,
        ),
        (
            &ml.grpc,
            Protocol::Grpc,
            "MLServer gRPC",
            SpecSource::Metadata,
            Encoding::Binary,
        ),
        (
            &ks.url,
            Protocol::Rest,
            "KServe",
            SpecSource::Local,
            Encoding::Binary,
        ),
        (
            &ks.grpc,
            Protocol::Grpc,
            "KServe gRPC",
            SpecSource::Local,
            Encoding::Binary,
        ),
    ] {
        let (got, logits, s, e) = classify(url, protocol, &encs).await;
        assert_eq!((s, e), (source, encoding), "{what}");
        assert_eq!(got, want, "{what}: predictions");
        let worst = logits
            .iter()
            .zip(&want_logits)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(worst < 1e-3, "{what}: logits differ by {worst}");
    }
}

/// `edgehide classify` against each server: pictures get one line each
/// (file, label, probability), and the same saved encryptions get the same
/// lines from all three. (A picture is encrypted with a fresh key on every
/// run, so its label can differ between runs on any server: the model is
/// right on about 80% of encryptions.) A server that is down, or one whose
/// model expects another encryption, gets one clear line and a non-zero
/// exit.
#[test]
fn the_classify_command_gives_the_same_answers_from_every_server() {
    let dir = tempfile::tempdir().unwrap();
    let test = dataset::fashion_mnist(None, Split::Test).unwrap();
    let mut pictures = Vec::new();
    for (i, image) in test.images[..6].iter().enumerate() {
        let path = dir.path().join(format!("frame{i}.png"));
        image::GrayImage::from_raw(28, 28, image.pixels().to_vec())
            .unwrap()
            .save(&path)
            .unwrap();
        pictures.push(path);
    }
    let sidecar = model_path().with_extension("json");
    let saved = dir.path().join("encrypted");
    let out = edgehide()
        .arg("encrypt")
        .arg("--spec")
        .arg(&sidecar)
        .arg("--out")
        .arg(&saved)
        .args(&pictures)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let encrypted: Vec<PathBuf> = (0..6)
        .map(|i| saved.join(format!("frame{i}.npy")))
        .collect();
    let run_with = |url: &str, protocol: &str, spec: &Path, inputs: &[PathBuf]| {
        let out = edgehide()
            .args([
                "classify",
                "--server",
                url,
                "--model",
                NAME,
                "--protocol",
                protocol,
            ])
            .arg("--spec")
            .arg(spec)
            .args(inputs)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let run = |url: &str, spec: &Path, inputs: &[PathBuf]| run_with(url, "rest", spec, inputs);
    let ours = edgehide_server();
    let ml = mlserver(&dir.path().join("mlserver"));
    let ks = kserve(&dir.path().join("kserve"));
    let (code, want, err) = run(&ours.url, &sidecar, &encrypted);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(want.lines().count(), 6, "{want}");
    for peer in [&ours, &ml, &ks] {
        let (code, got, err) = run(&peer.url, &sidecar, &encrypted);
        assert_eq!(code, Some(0), "{err}");
        assert_eq!(got, want, "{}", peer.url);
        let (code, got, err) = run_with(&peer.grpc, "grpc", &sidecar, &encrypted);
        assert_eq!(code, Some(0), "{err}");
        assert_eq!(got, want, "{} (gRPC)", peer.grpc);
        let (code, got, err) = run(&peer.url, &sidecar, &pictures);
        assert_eq!(code, Some(0), "{err}");
        for (line, picture) in got.lines().zip(&pictures) {
            let fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(fields.len(), 3, "{line}");
            assert_eq!(fields[0], picture.display().to_string());
            assert!(spec().labels().iter().any(|l| l == fields[1]), "{line}");
            let p: f32 = fields[2].parse().unwrap();
            assert!((0.1..=1.0).contains(&p), "{line}");
        }
    }
    // Another encryption than the server's model expects.
    let k2 = dir.path().join("k2.json");
    std::fs::write(
        &k2,
        spec()
            .with_params(spec().params().with_k(2).unwrap())
            .unwrap()
            .to_json(),
    )
    .unwrap();
    let (code, out, err) = run(&ours.url, &k2, &pictures);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("encryption parameters"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    // Nobody listening.
    let nobody = format!("http://127.0.0.1:{}", free_port());
    let (code, _, err) = run(&nobody, &sidecar, &pictures);
    assert_eq!(code, Some(1));
    assert!(err.contains("cannot connect"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

/// The exported Triton model repository parses with Triton's own schema
/// (`tritonclient.grpc.model_config_pb2`), and carries the sidecar.
#[test]
fn the_triton_configuration_parses_with_tritons_schema() {
    let dir = tempfile::tempdir().unwrap();
    export("--triton", dir.path());
    let folder = dir.path().join(NAME);
    assert!(folder.join("1/model.onnx").is_file());
    let check = r#"
import json, sys
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2
config = text_format.Parse(open(sys.argv[1]).read(), model_config_pb2.ModelConfig())
assert config.platform == "onnxruntime_onnx", config.platform
assert config.max_batch_size == 64
assert config.HasField("dynamic_batching")
assert list(config.input[0].dims) == [1, 28, 28], config.input
assert config.input[0].data_type == model_config_pb2.TYPE_FP32
assert list(config.output[0].dims) == [10]
spec = json.loads(config.parameters["edgehide_spec"].string_value)
assert config.parameters["scheme"].string_value == "instahide"
print(config.name, spec["encryption"]["k"], spec["labels"][0])
"#;
    let out = Command::new(root().join(".venv/bin/python"))
        .args(["-c", check])
        .arg(folder.join("config.pbtxt"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.trim(), format!("{NAME} 4 T-shirt/top"));
    // The KServe manifest: the v2 protocol and the ONNX format, as YAML.
    export("--kserve", &dir.path().join("kserve"));
    let manifest =
        std::fs::read_to_string(dir.path().join("kserve/inference-service.yaml")).unwrap();
    let check = r#"
import sys, yaml
m = yaml.safe_load(open(sys.argv[1]))
p = m["spec"]["predictor"]["model"]
assert m["kind"] == "InferenceService" and p["protocolVersion"] == "v2"
assert p["modelFormat"]["name"] == "onnx"
print(m["metadata"]["name"])
"#;
    let out = Command::new(root().join(".venv-kserve/bin/python"))
        .args(["-c", check])
        .arg(dir.path().join("kserve/inference-service.yaml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{manifest}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), NAME);
}
