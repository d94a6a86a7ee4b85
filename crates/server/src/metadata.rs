//! What a model is announced with on `GET /v2/models/{name}`.

use edgehide::ModelSpec;
use edgehide_oip::{ModelMetadata, SCHEME_PARAMETER, SPEC_PARAMETER, TensorMetadata};

use crate::Model;

/// The metadata a model is announced with: its tensors and, in
/// `parameters`, the encryption it expects.
pub fn model_metadata(model: &Model) -> ModelMetadata {
    let spec = model.spec();
    let g = spec.geometry();
    ModelMetadata {
        name: spec.name().to_string(),
        versions: vec!["1".into()],
        platform: "onnxruntime_onnx".into(),
        inputs: vec![TensorMetadata {
            name: model.input_name().to_string(),
            datatype: "FP32".into(),
            shape: vec![-1, g.channels as i64, g.height as i64, g.width as i64],
        }],
        outputs: vec![TensorMetadata {
            name: model.output_name().to_string(),
            datatype: "FP32".into(),
            shape: vec![-1, model.classes() as i64],
        }],
        parameters: spec_parameters(spec),
    }
}

/// Protocol parameters are scalars, so lists are written as text and the
/// whole sidecar rides along as one string for clients that check it.
fn spec_parameters(spec: &ModelSpec) -> serde_json::Map<String, serde_json::Value> {
    use serde_json::{Value, json};
    let mut p = serde_json::Map::new();
    p.insert(SCHEME_PARAMETER.into(), json!(spec.scheme().name()));
    let params = match spec.disguise() {
        Some(d) => serde_json::to_value(d),
        None => serde_json::to_value(spec.params()),
    };
    if let Ok(Value::Object(enc)) = params {
        p.extend(enc.into_iter().filter(|(_, v)| !v.is_null()));
    }
    let list = |v: &[f64]| v.iter().map(f64::to_string).collect::<Vec<_>>().join(",");
    p.insert("mean".into(), json!(list(spec.mean())));
    p.insert("std".into(), json!(list(spec.std())));
    if let Some(f) = spec.pool_fingerprint() {
        p.insert("pool_fingerprint".into(), json!(f));
    }
    p.insert(SPEC_PARAMETER.into(), json!(spec.to_json()));
    p
}
