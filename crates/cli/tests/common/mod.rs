//! What the `edgehide` binary's integration tests share: the bundled
//! model, the binary itself, ports and child processes.
#![allow(dead_code)] // each test file uses its own share

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

pub const NAME: &str = "fashion-mnist-k4";

/// The repository root (this crate is `crates/cli`).
pub fn root() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).to_path_buf()
}

pub fn model_path() -> PathBuf {
    root().join("models/fashion-mnist-k4.onnx")
}

pub fn model() -> edgehide_server::Model {
    edgehide_server::Model::load(
        edgehide_lab::paths::load_runtime().unwrap(),
        &model_path(),
        None,
    )
    .unwrap()
}

/// The `edgehide` binary, as a user runs it.
pub fn edgehide() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_edgehide"));
    c.env("XDG_RUNTIME_DIR", std::env::temp_dir());
    c
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed when dropped, so none outlives a failed test.
pub struct Reaped(pub Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `edgehide serve --model MODEL` on `port`, once it answers.
pub fn serve_model(model: &Path, port: u16) -> Reaped {
    let child = edgehide()
        .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--model"])
        .arg(model)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the server did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Reaped(child)
}

/// The `accuracy: X` figure `edgehide eval` ends its output with.
pub fn eval_accuracy(stdout: &[u8]) -> f64 {
    let text = String::from_utf8_lossy(stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("accuracy: "))
        .unwrap_or_else(|| panic!("no accuracy line in {text}"))
        .parse()
        .unwrap()
}
