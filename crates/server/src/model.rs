//! Running a classifier with ONNX Runtime through `ort`, loaded at run time
//! from a library whose path the caller hands in ([`Runtime::load`]).

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use edgehide::ModelSpec;
use ort::session::{RunOptions, Session};
use ort::value::Tensor;

use crate::error::{Error, Result, rt};

static RUNTIME: OnceLock<std::result::Result<(PathBuf, ort::environment::Environment), String>> =
    OnceLock::new();

/// The process-wide ONNX Runtime, loaded once from a shared library.
#[derive(Clone, Copy)]
pub struct Runtime {
    env: &'static ort::environment::Environment,
    path: &'static Path,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Runtime({})", self.path.display())
    }
}

/// Microsoft's builds of ONNX Runtime record usage events (executable,
/// device id, model names, batch sizes, errors) in
/// `~/.cache/Microsoft/DeveloperTools/.onnxruntime/` as soon as an
/// environment is made, whatever `DisableTelemetryEvents` says afterwards;
/// only `ORT_DISABLE_TELEMETRY` set before that stops it. A privacy product
/// leaves no such trail, so it is set here unless the caller set it.
fn disable_telemetry() {
    if std::env::var_os("ORT_DISABLE_TELEMETRY").is_none() {
        // SAFETY: set once, before ONNX Runtime is loaded, by the one place
        // that loads it. The `edgehide` binary sets it first thing in main,
        // before any thread exists; a library caller that reads the
        // environment from other threads while it loads ONNX Runtime can set
        // the variable itself first.
        unsafe { std::env::set_var("ORT_DISABLE_TELEMETRY", "1") };
    }
}

impl Runtime {
    /// Loads `libonnxruntime` from `dylib` (version 1.31 or a later 1.x).
    /// ONNX Runtime is process-wide: the first call loads it, and a later
    /// call with another path is refused.
    pub fn load(dylib: &Path) -> Result<Runtime> {
        let loaded = RUNTIME.get_or_init(|| {
            disable_telemetry();
            let env = ort::init_from(dylib)
                .map_err(|e| format!("cannot load {}: {e}", dylib.display()))?
                .with_name("edgehide")
                // No usage data leaves the process, and none is written to
                // the home folder (a privacy product leaves no trail).
                .with_telemetry(false)
                .build()
                .map_err(|e| e.to_string())?;
            Ok((dylib.to_path_buf(), env))
        });
        match loaded {
            Err(e) => Err(Error::Runtime(e.clone())),
            Ok((path, _)) if path != dylib => Err(Error::Runtime(format!(
                "already loaded from {}, not loading {}",
                path.display(),
                dylib.display()
            ))),
            Ok((path, env)) => Ok(Runtime { env, path }),
        }
    }

    /// The library it was loaded from.
    pub fn path(&self) -> &Path {
        self.path
    }

    pub(crate) fn env(&self) -> &'static ort::environment::Environment {
        self.env
    }
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

impl Model {
    /// Loads `onnx` with the sidecar `sidecar` (default: the same path with
    /// `.json`). Fails unless the model takes `[batch, C, H, W]` f32 and
    /// returns one score per sidecar label.
    pub fn load(runtime: Runtime, onnx: &Path, sidecar: Option<&Path>) -> Result<Model> {
        if !onnx.is_file() {
            return Err(Error::Io {
                path: onnx.to_path_buf(),
                cause: std::io::Error::new(std::io::ErrorKind::NotFound, "model file not found"),
            });
        }
        let sidecar = sidecar
            .map(Path::to_path_buf)
            .unwrap_or_else(|| onnx.with_extension("json"));
        let spec = ModelSpec::from_json_file(&sidecar)?;
        let session = Session::builder(runtime.env)
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

    /// The model's sidecar.
    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }
    /// How many classes it scores.
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

    /// Hands back the memory ONNX Runtime's CPU arena grew to for large
    /// batches and no longer uses. The arena shrinks only at the end of a
    /// run that asks for it, so this runs one zero frame with shrinkage on:
    /// the cost of one small inference, paid when a burst is over rather
    /// than on every batch.
    pub fn release_memory(&self) -> Result<()> {
        let g = self.spec.geometry();
        let shape = vec![1i64, g.channels as i64, g.height as i64, g.width as i64];
        let tensor = Tensor::from_array((shape, vec![0f32; g.len()])).map_err(rt)?;
        let mut options = RunOptions::new().map_err(rt)?;
        options
            .set("memory.enable_memory_arena_shrinkage", "cpu:0")
            .map_err(rt)?;
        let mut session = self
            .session
            .lock()
            .map_err(|_| Error::Runtime("session poisoned".into()))?;
        session
            .run_with_options(ort::inputs![self.input.as_str() => tensor], &options)
            .map_err(rt)?;
        Ok(())
    }

    /// Scores for `n` tensors laid end to end in `batch`: `n * classes` values.
    pub fn logits(&self, batch: Vec<f32>, n: usize) -> Result<Vec<f32>> {
        let g = self.spec.geometry();
        if batch.len() != n * g.len() {
            return Err(Error::Input(format!(
                "{} values for {n} tensors of {:?}",
                batch.len(),
                g.shape()
            )));
        }
        if batch.iter().any(|v| !v.is_finite()) {
            return Err(Error::Input("non-finite value".into()));
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
        if data.iter().any(|v| !v.is_finite()) {
            return Err(Error::NonFiniteOutput);
        }
        Ok(data.to_vec())
    }
}
