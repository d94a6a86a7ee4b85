//! `edgehide export`: the files that put a model on another engine of the
//! Open Inference Protocol (Triton, KServe, MLServer).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use edgehide_server::Model;

use crate::common::load_model;

/// The MLServer runtime and KServe's Python ModelServer, as shipped.
const MLSERVER_RUNTIME: &str = include_str!("../../../../deploy/mlserver/edgehide_runtime.py");
const KSERVE_SERVER: &str = include_str!("../../../../deploy/kserve/edgehide_kserve.py");

/// Write the files that serve a model on Triton, KServe or MLServer.
#[derive(clap::Args)]
#[command(group(
    clap::ArgGroup::new("engine")
        .required(true)
        .multiple(true)
        .args(["triton", "kserve", "mlserver"])
))]
pub struct Args {
    /// The ONNX model (its sidecar is the same path with .json).
    #[arg(long)]
    model: PathBuf,
    /// A Triton model repository: DIR/NAME/config.pbtxt (the sidecar in its
    /// parameters) and DIR/NAME/1/model.onnx.
    #[arg(long, value_name = "DIR")]
    triton: Option<PathBuf>,
    /// A KServe InferenceService manifest (protocol v2, ONNX on KServe's
    /// Triton runtime) with the Triton repository it serves, and
    /// edgehide_kserve.py for KServe's Python ModelServer.
    #[arg(long, value_name = "DIR")]
    kserve: Option<PathBuf>,
    /// An MLServer model folder: DIR/NAME/model-settings.json, the runtime
    /// that announces the sidecar, the model and its sidecar, and
    /// DIR/settings.json.
    #[arg(long, value_name = "DIR")]
    mlserver: Option<PathBuf>,
    /// The largest batch the engine forms (Triton's max_batch_size).
    #[arg(long, default_value_t = 64)]
    max_batch: usize,
}

pub fn run(args: Args) -> Result<()> {
    let model = load_model(&args.model)?;
    let name = model.spec().name();
    if name.contains(['/', '\\']) || name.starts_with('.') {
        bail!("model name {name:?} cannot name a folder; change the sidecar's name");
    }
    if args.max_batch == 0 {
        bail!("--max-batch must be at least 1");
    }
    if let Some(dir) = &args.triton {
        triton_repository(&model, &args.model, dir, args.max_batch)?;
        println!("Triton model repository: {}", dir.join(name).display());
    }
    if let Some(dir) = &args.kserve {
        let repository = dir.join("repository");
        triton_repository(&model, &args.model, &repository, args.max_batch)?;
        write(
            &dir.join("inference-service.yaml"),
            &kserve_manifest(&model),
        )?;
        write(&dir.join("edgehide_kserve.py"), KSERVE_SERVER)?;
        copy(&args.model, &dir.join("model.onnx"))?;
        write(&dir.join("model.json"), &model.spec().to_json())?;
        println!("KServe: {}", dir.join("inference-service.yaml").display());
    }
    if let Some(dir) = &args.mlserver {
        // Inference in MLServer's main process: its default worker process
        // fails to load models with MLServer 1.7.1 on Python 3.11 ("no
        // current event loop").
        write(
            &dir.join("settings.json"),
            "{\n  \"parallel_workers\": 0\n}\n",
        )?;
        let folder = dir.join(name);
        write(
            &folder.join("model-settings.json"),
            &mlserver_settings(&model)?,
        )?;
        write(&folder.join("edgehide_runtime.py"), MLSERVER_RUNTIME)?;
        copy(&args.model, &folder.join("model.onnx"))?;
        write(&folder.join("model.json"), &model.spec().to_json())?;
        println!("MLServer model folder: {}", folder.display());
    }
    Ok(())
}

fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

fn copy(from: &Path, to: &Path) -> Result<()> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::copy(from, to)
        .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))?;
    Ok(())
}

/// A string in protobuf's text format: quotes and backslashes escaped,
/// every byte outside printable ASCII as an octal escape.
fn pbtxt_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for b in s.bytes() {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\{b:03o}")),
        }
    }
    out.push('"');
    out
}

/// `config.pbtxt` for Triton's ONNX Runtime backend: the model's tensors
/// without the batch dimension, dynamic batching, and the sidecar in
/// `parameters` (read by edgehide's client from `GET .../config`).
fn triton_config(model: &Model, max_batch: usize) -> String {
    let spec = model.spec();
    let g = spec.geometry();
    format!(
        r#"name: {name}
platform: "onnxruntime_onnx"
max_batch_size: {max_batch}
input [
  {{
    name: {input}
    data_type: TYPE_FP32
    dims: [ {c}, {h}, {w} ]
  }}
]
output [
  {{
    name: {output}
    data_type: TYPE_FP32
    dims: [ {classes} ]
  }}
]
dynamic_batching {{ }}
parameters [
  {{
    key: "{scheme_key}"
    value: {{ string_value: {scheme} }}
  }},
  {{
    key: "{spec_key}"
    value: {{ string_value: {spec_json} }}
  }}
]
"#,
        name = pbtxt_string(spec.name()),
        input = pbtxt_string(model.input_name()),
        output = pbtxt_string(model.output_name()),
        c = g.channels,
        h = g.height,
        w = g.width,
        classes = model.classes(),
        scheme_key = edgehide_oip::SCHEME_PARAMETER,
        scheme = pbtxt_string(spec.scheme().name()),
        spec_key = edgehide_oip::SPEC_PARAMETER,
        spec_json = pbtxt_string(&spec.to_json()),
    )
}

fn triton_repository(model: &Model, onnx: &Path, dir: &Path, max_batch: usize) -> Result<()> {
    let folder = dir.join(model.spec().name());
    write(
        &folder.join("config.pbtxt"),
        &triton_config(model, max_batch),
    )?;
    copy(onnx, &folder.join("1").join("model.onnx"))
}

/// A Kubernetes name (RFC 1123 label) from the model's name.
fn k8s_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9') => c,
            _ => '-',
        })
        .collect();
    out.truncate(63);
    let out = out.trim_matches('-').to_string();
    if out.is_empty() {
        "edgehide".into()
    } else {
        out
    }
}

fn kserve_manifest(model: &Model) -> String {
    let name = model.spec().name();
    format!(
        r#"# KServe InferenceService for the edgehide model "{name}": the Open
# Inference Protocol (v2), REST and gRPC, served by KServe's Triton runtime
# from the model repository in ./repository. Copy that folder to storage the
# cluster reads and point storageUri at it. Clients bring the model's sidecar
# (./model.json); edgehide's client also reads it from Triton's
# GET /v2/models/{name}/config.
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: {k8s}
spec:
  predictor:
    model:
      modelFormat:
        name: onnx
      protocolVersion: v2
      runtime: kserve-tritonserver
      storageUri: s3://CHANGE-ME/edgehide/repository
"#,
        k8s = k8s_name(name),
    )
}

fn mlserver_settings(model: &Model) -> Result<String> {
    let g = model.spec().geometry();
    let settings = serde_json::json!({
        "name": model.spec().name(),
        "implementation": "edgehide_runtime.EdgehideOnnx",
        "parameters": {"uri": "./model.onnx", "version": "1"},
        "inputs": [{
            "name": model.input_name(),
            "datatype": "FP32",
            "shape": [-1, g.channels, g.height, g.width],
        }],
        "outputs": [{
            "name": model.output_name(),
            "datatype": "FP32",
            "shape": [-1, model.classes()],
        }],
    });
    Ok(serde_json::to_string_pretty(&settings)? + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_format_strings_escape_quotes_and_bytes() {
        assert_eq!(pbtxt_string(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(pbtxt_string("é\n"), r#""\303\251\012""#);
    }

    #[test]
    fn kubernetes_names_are_rfc_1123_labels() {
        assert_eq!(k8s_name("Fashion_MNIST k4"), "fashion-mnist-k4");
        assert_eq!(k8s_name("--"), "edgehide");
        assert_eq!(k8s_name(&"a".repeat(100)).len(), 63);
    }
}
