//! The bundled model through the full client pipeline with real ONNX Runtime
//! (the library from the onnxruntime wheel that scripts/install-deps.sh puts
//! in .venv/), and the errors a user gets for bad models and sidecars.

use std::path::{Path, PathBuf};

use edgehide::{BackendChoice, Encryptor, ModelSpec, PublicPool};
use edgehide_lab::dataset::{self, Split};
use edgehide_lab::eval::{EvalOptions, Payload, evaluate};
use edgehide_server::Error;
use edgehide_server::Model;

/// The model on the ONNX Runtime the set-up installed.
fn load(onnx: &Path, sidecar: Option<&Path>) -> edgehide_server::Result<Model> {
    Model::load(edgehide_lab::paths::load_runtime().unwrap(), onnx, sidecar)
}

fn model_path() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join("models/fashion-mnist-k4.onnx")
}

#[test]
fn bundled_model_classifies_single_encryptions() {
    let model = load(&model_path(), None).unwrap();
    let enc = Encryptor::new(
        model.spec().clone(),
        &PublicPool::bundled().unwrap(),
        BackendChoice::Cpu,
    )
    .unwrap();
    let test = dataset::fashion_mnist(None, Split::Test).unwrap();
    let opts = EvalOptions {
        limit: Some(500),
        t: 1,
        payload: Payload::F32,
        batch: 250,
        plain: false,
    };
    let acc = evaluate(&model, &enc, &test, opts, |_| {}).unwrap();
    // Chance is 0.10; the model card states the full-test-set figure.
    assert!(acc.value() > 0.6, "accuracy {}", acc.value());
    let f16 = evaluate(
        &model,
        &enc,
        &test,
        EvalOptions {
            payload: Payload::F16,
            ..opts
        },
        |_| {},
    )
    .unwrap();
    assert!(
        (f16.value() - acc.value()).abs() < 0.05,
        "f16 {} vs f32 {}",
        f16.value(),
        acc.value()
    );
}

#[test]
fn bad_models_and_sidecars_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    // Missing model.
    let err = load(&dir.path().join("none.onnx"), None).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    // A sidecar whose geometry is not the model's.
    let onnx = dir.path().join("m.onnx");
    std::fs::copy(model_path(), &onnx).unwrap();
    std::fs::write(
        dir.path().join("m.json"),
        ModelSpec::imagenet_224().to_json(),
    )
    .unwrap();
    let err = load(&onnx, None).unwrap_err();
    assert!(matches!(err, Error::ModelMismatch(_)), "{err}");
    // A sidecar without labels (the classes cannot be checked).
    let unlabelled = ModelSpec::fashion_mnist().with_labels(vec![]);
    std::fs::write(dir.path().join("m.json"), unlabelled.to_json()).unwrap();
    assert!(matches!(load(&onnx, None), Err(Error::ModelMismatch(_))));
    // Not an ONNX file.
    std::fs::write(&onnx, b"not a model").unwrap();
    std::fs::write(
        dir.path().join("m.json"),
        ModelSpec::fashion_mnist().to_json(),
    )
    .unwrap();
    assert!(matches!(load(&onnx, None), Err(Error::Runtime(_))));
    // A wrong dataset folder names the package to install.
    let err = dataset::fashion_mnist(Some(dir.path()), Split::Test).unwrap_err();
    assert!(err.to_string().contains("dataset-fashion-mnist"), "{err}");
}

#[test]
fn inference_rejects_bad_tensors() {
    let model = load(&model_path(), None).unwrap();
    assert!(matches!(
        model.logits(vec![0.0; 783], 1),
        Err(Error::Input(_))
    ));
    let mut nan = vec![0.0; 784];
    nan[3] = f32::NAN;
    assert!(matches!(model.logits(nan, 1), Err(Error::Input(_))));
    assert_eq!(model.logits(vec![0.5; 784 * 3], 3).unwrap().len(), 30);
}
