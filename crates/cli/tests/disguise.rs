//! DisguisedNets through the binary: a sidecar with a new deployment key,
//! the bundled DisguisedNets model evaluated with its key (and refused
//! without it or with another), and frames classified over HTTP by a server
//! that never sees the key.

mod common;

use common::*;

const DN: &str = "fashion-mnist-dn-b4";

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[test]
fn spec_makes_a_private_key_once_and_binds_the_sidecar_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let (key, spec) = (dir.path().join("k.ehkey"), dir.path().join("m.json"));
    let make = |key_arg: &str| {
        edgehide()
            .args([
                "spec",
                "--name",
                "m",
                "--scheme",
                "disguisednets",
                "--block",
                "7",
            ])
            .args(["--noise", "0.5", key_arg])
            .arg(&key)
            .arg("--out")
            .arg(&spec)
            .output()
            .unwrap()
    };
    let out = make("--key-out");
    assert!(out.status.success(), "{}", stderr(&out));
    let bytes = std::fs::read(&key).unwrap();
    assert_eq!(bytes.len(), 56);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let sidecar = edgehide::ModelSpec::from_json_file(&spec).unwrap();
    let d = sidecar.disguise().unwrap();
    assert_eq!((d.block, d.noise), (7, 0.5));
    let id = edgehide::DisguiseKey::from_file(&key).unwrap().id();
    assert_eq!(d.key_id.as_deref(), Some(id.as_str()));
    assert!(
        !std::fs::read_to_string(&spec)
            .unwrap()
            .contains(&hex(&bytes[24..]))
    );
    // Never overwritten; an existing key binds another sidecar.
    let again = make("--key-out");
    assert!(!again.status.success());
    assert_eq!(std::fs::read(&key).unwrap(), bytes);
    assert!(make("--key").status.success());
    let none = edgehide()
        .args(["spec", "--name", "m", "--scheme", "disguisednets", "--out"])
        .arg(dir.path().join("n.json"))
        .output()
        .unwrap();
    assert!(!none.status.success());
    assert!(stderr(&none).contains("--key-out"), "{}", stderr(&none));
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|v| format!("{v:02x}")).collect()
}

#[test]
fn the_bundled_model_evaluates_with_its_key_only() {
    let eval = |extra: &[&str]| {
        edgehide()
            .current_dir(root())
            .args([
                "eval",
                "--model",
                &format!("models/{DN}.onnx"),
                "--limit",
                "300",
            ])
            .args(["--backend", "cpu"])
            .args(extra)
            .output()
            .unwrap()
    };
    let out = eval(&["--key", &format!("models/{DN}.ehkey")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let acc = eval_accuracy(&out.stdout);
    assert!(acc > 0.8, "accuracy {acc}");

    let without = eval(&[]);
    assert!(!without.status.success());
    assert!(stderr(&without).contains("--key"), "{}", stderr(&without));
    let dir = tempfile::tempdir().unwrap();
    let stranger = dir.path().join("other.ehkey");
    edgehide::DisguiseKey::generate(4, edgehide::ModelSpec::fashion_mnist().geometry())
        .unwrap()
        .write_new(&stranger)
        .unwrap();
    let other = eval(&["--key", stranger.to_str().unwrap()]);
    assert!(!other.status.success());
    assert!(
        stderr(&other).contains("another deployment key"),
        "{}",
        stderr(&other)
    );
}

#[test]
fn frames_are_classified_over_http_without_the_server_seeing_the_key() {
    let test =
        edgehide_lab::dataset::fashion_mnist(None, edgehide_lab::dataset::Split::Test).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let n = 40;
    let mut paths = Vec::new();
    for i in 0..n {
        let img = &test.images[i];
        let gray = image::GrayImage::from_raw(28, 28, img.pixels().to_vec()).unwrap();
        let path = dir.path().join(format!("{i:03}.png"));
        gray.save(&path).unwrap();
        paths.push(path);
    }
    let port = free_port();
    let _server = serve_model(&root().join(format!("models/{DN}.onnx")), port);
    let out = edgehide()
        .current_dir(root())
        .args([
            "classify",
            "--server",
            &format!("http://127.0.0.1:{port}"),
            "--model",
            DN,
        ])
        .args(["--spec", &format!("models/{DN}.json")])
        .args(["--key", &format!("models/{DN}.ehkey"), "--backend", "cpu"])
        .args(&paths)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let labels = edgehide::ModelSpec::fashion_mnist().labels().to_vec();
    let text = String::from_utf8_lossy(&out.stdout);
    let correct = text
        .lines()
        .zip(&test.labels)
        .filter(|(line, want)| line.split('\t').nth(1) == Some(labels[**want as usize].as_str()))
        .count();
    assert_eq!(text.lines().count(), n);
    assert!(correct >= n * 3 / 4, "{correct} of {n} correct:\n{text}");
}
