//! Running a classifier with ONNX Runtime through `ort` (loaded at run time
//! from the `onnxruntime` Python wheel's library, see [`runtime`]).

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use ort::session::Session;
use ort::value::Tensor;

use crate::error::{Error, Result};
use crate::spec::ModelSpec;

/// The environment variable naming the ONNX Runtime library.
pub const DYLIB_ENV: &str = "ORT_DYLIB_PATH";

static RUNTIME: OnceLock<std::result::Result<ort::environment::Environment, String>> =
    OnceLock::new();

/// Where `scripts/install-deps.sh` puts the library: the `onnxruntime` wheel
/// in `.venv/` at the repository root, looked for from the working directory
/// and the executable's folders upwards.
fn find_dylib() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(DYLIB_ENV) {
        return Some(PathBuf::from(p));
    }
    for base in crate::dataset::search_roots() {
        let Ok(libs) = std::fs::read_dir(base.join(".venv/lib")) else {
            continue;
        };
        for py in libs.flatten() {
            let capi = py.path().join("site-packages/onnxruntime/capi");
            let Ok(files) = std::fs::read_dir(&capi) else {
                continue;
            };
            let mut found: Vec<PathBuf> = files
                .flatten()
                .map(|f| f.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("libonnxruntime.so."))
                })
                .collect();
            found.sort();
            if let Some(p) = found.pop() {
                return Some(p);
            }
        }
    }
    None
}

/// The process-wide ONNX Runtime environment, loaded once.
pub fn runtime() -> Result<&'static ort::environment::Environment> {
    RUNTIME
        .get_or_init(|| {
            let path = find_dylib().ok_or_else(|| {
                format!(
                    "libonnxruntime not found: run scripts/install-deps.sh (it installs the onnxruntime wheel into .venv/) \
                     or set {DYLIB_ENV} to libonnxruntime.so"
                )
            })?;
            ort::init_from(&path)
                .map_err(|e| format!("cannot load {}: {e}", path.display()))?
                .with_name("edgehide")
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| Error::Runtime(e.clone()))
}

/// An ONNX classifier and its sidecar, checked against each other.
pub struct Model {
    session: Mutex<Session>,
    spec: ModelSpec,
    input: String,
    output: String,
    classes: usize,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Model({}, {} classes)", self.spec.name(), self.classes)
    }
}

fn rt(e: impl std::fmt::Display) -> Error {
    Error::Runtime(e.to_string())
}

impl Model {
    /// Loads `onnx` with the sidecar `sidecar` (default: the same path with
    /// `.json`). Fails unless the model takes `[batch, C, H, W]` f32 and
    /// returns one score per sidecar label.
    pub fn load(onnx: &Path, sidecar: Option<&Path>) -> Result<Model> {
        if !onnx.is_file() {
            return Err(Error::io(
                onnx,
                std::io::Error::new(std::io::ErrorKind::NotFound, "model file not found"),
            ));
        }
        let sidecar = sidecar
            .map(Path::to_path_buf)
            .unwrap_or_else(|| onnx.with_extension("json"));
        let spec = ModelSpec::from_json_file(&sidecar)?;
        let env = runtime()?;
        let session = Session::builder(env)
            .map_err(rt)?
            .with_intra_threads(
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(1),
            )
            .map_err(rt)?
            .commit_from_file(onnx)
            .map_err(|e| Error::Runtime(format!("{}: {e}", onnx.display())))?;
        let (inputs, outputs) = (session.inputs(), session.outputs());
        if inputs.len() != 1 || outputs.is_empty() {
            return Err(Error::ModelMismatch(format!(
                "expected 1 input, got {}",
                inputs.len()
            )));
        }
        let g = spec.geometry();
        let dims = |o: &ort::value::Outlet| -> Option<Vec<i64>> {
            (o.dtype().tensor_type()? == ort::value::TensorElementType::Float32)
                .then(|| {
                    o.dtype()
                        .tensor_shape()
                        .map(|s| s.iter().copied().collect())
                })
                .flatten()
        };
        let want = [g.channels as i64, g.height as i64, g.width as i64];
        match dims(&inputs[0]) {
            Some(d) if d.len() == 4 && d[1..] == want => {}
            other => {
                return Err(Error::ModelMismatch(format!(
                    "input is {other:?}, the sidecar says [batch, {}, {}, {}] float32",
                    want[0], want[1], want[2]
                )));
            }
        }
        let classes = spec.labels().len();
        match dims(&outputs[0]) {
            Some(d) if classes > 0 && d.len() == 2 && d[1] == classes as i64 => {}
            other => {
                return Err(Error::ModelMismatch(format!(
                    "output is {other:?}, the sidecar has {classes} labels"
                )));
            }
        }
        Ok(Model {
            input: inputs[0].name().to_string(),
            output: outputs[0].name().to_string(),
            session: Mutex::new(session),
            spec,
            classes,
        })
    }

    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }
    pub fn classes(&self) -> usize {
        self.classes
    }
    /// The ONNX graph's input name.
    pub fn input_name(&self) -> &str {
        &self.input
    }
    /// The ONNX graph's output name (the logits).
    pub fn output_name(&self) -> &str {
        &self.output
    }

    /// Scores for `n` tensors laid end to end in `batch`: `n * classes` values.
    pub fn logits(&self, batch: Vec<f32>, n: usize) -> Result<Vec<f32>> {
        let g = self.spec.geometry();
        if batch.len() != n * g.len() {
            return Err(Error::ShapeMismatch {
                expected: g.shape(),
                got: [batch.len(), n, 0],
            });
        }
        if batch.iter().any(|v| !v.is_finite()) {
            return Err(Error::NonFinite("model input"));
        }
        let shape = vec![n as i64, g.channels as i64, g.height as i64, g.width as i64];
        let tensor = Tensor::from_array((shape, batch)).map_err(rt)?;
        let mut session = self
            .session
            .lock()
            .map_err(|_| Error::Runtime("session poisoned".into()))?;
        let outputs = session
            .run(ort::inputs![self.input.as_str() => tensor])
            .map_err(rt)?;
        let value = outputs
            .get(&self.output)
            .ok_or_else(|| Error::Runtime("missing output".into()))?;
        let (_, data) = value.try_extract_tensor::<f32>().map_err(rt)?;
        if data.len() != n * self.classes {
            return Err(Error::ModelMismatch(format!(
                "{} scores for {n} inputs",
                data.len()
            )));
        }
        Ok(data.to_vec())
    }
}
