//! The protocol's gRPC service (`inference.GRPCInferenceService`, as KServe
//! and Triton serve it): the generated messages and stubs in [`proto`], and
//! the conversions between them and this crate's tensors, which check
//! untrusted messages as strictly as the REST decoder.

use std::collections::HashMap;

use crate::tensor::{DataType, Tensor};
use crate::wire::{BadMessage, InferRequest, bad, element_count, shown};

/// The messages and the client and server stubs, generated from
/// `proto/grpc_predict_v2.proto`.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod proto {
    tonic::include_proto!("inference");
}

use proto::infer_parameter::ParameterChoice;
use proto::{InferParameter, InferTensorContents, ModelInferRequest, ModelInferResponse};

/// A string parameter, as the protocol carries it.
pub fn string_parameter(value: impl Into<String>) -> InferParameter {
    InferParameter {
        parameter_choice: Some(ParameterChoice::StringParam(value.into())),
    }
}

/// The text of a string parameter, if `parameters` has one named `key`.
pub fn parameter_text<'a>(
    parameters: &'a HashMap<String, InferParameter>,
    key: &str,
) -> Option<&'a str> {
    match parameters.get(key)?.parameter_choice.as_ref()? {
        ParameterChoice::StringParam(s) => Some(s),
        _ => None,
    }
}

/// One tensor of a gRPC message: raw little-endian bytes (`raw`) or typed
/// contents, checked against its shape and type.
fn tensor(
    name: String,
    datatype: &str,
    shape: &[i64],
    contents: Option<InferTensorContents>,
    raw: Option<&[u8]>,
) -> Result<Tensor, BadMessage> {
    let shown_name = shown(&name);
    let datatype = DataType::parse(datatype).ok_or_else(|| {
        bad(format!(
            "tensor {shown_name}: datatype {} is not supported (FP32 or FP16)",
            shown(datatype)
        ))
    })?;
    let dims: Vec<u64> = shape
        .iter()
        .map(|&d| u64::try_from(d))
        .collect::<Result<_, _>>()
        .map_err(|_| {
            bad(format!(
                "tensor {shown_name}: shape {shape:?} has a negative dimension"
            ))
        })?;
    let elements = element_count(&dims)
        .ok_or_else(|| bad(format!("tensor {shown_name}: shape {shape:?} is too large")))?;
    let data = match (raw, contents) {
        (Some(bytes), _) => {
            let want = elements as u128 * datatype.size() as u128;
            if bytes.len() as u128 != want {
                return Err(bad(format!(
                    "tensor {shown_name}: {} raw bytes, but shape {shape:?} of {} needs {want}",
                    bytes.len(),
                    datatype.as_str()
                )));
            }
            datatype.decode(bytes)
        }
        (None, Some(c)) if datatype == DataType::Fp32 => {
            if c.fp32_contents.len() != elements {
                return Err(bad(format!(
                    "tensor {shown_name}: shape {shape:?} needs {elements} values, fp32_contents has {}",
                    c.fp32_contents.len()
                )));
            }
            c.fp32_contents
        }
        (None, Some(_)) => {
            return Err(bad(format!(
                "tensor {shown_name}: FP16 travels as raw_input_contents only"
            )));
        }
        (None, None) => return Err(bad(format!("tensor {shown_name} has no data"))),
    };
    if data.iter().any(|v| !v.is_finite()) {
        return Err(bad(format!(
            "tensor {shown_name} holds NaN or infinite values"
        )));
    }
    let shape = dims.iter().map(|&d| d as usize).collect();
    Ok(Tensor {
        name,
        shape,
        datatype,
        data,
    })
}

/// Reads an inference request. `raw_input_contents`, when present, holds
/// one entry per input; otherwise each input carries typed contents.
pub fn decode_infer_request(req: ModelInferRequest) -> Result<InferRequest, BadMessage> {
    let raw = &req.raw_input_contents;
    if !raw.is_empty() && raw.len() != req.inputs.len() {
        return Err(bad(format!(
            "{} raw_input_contents for {} inputs",
            raw.len(),
            req.inputs.len()
        )));
    }
    let mut inputs = Vec::with_capacity(req.inputs.len());
    for (i, t) in req.inputs.into_iter().enumerate() {
        inputs.push(tensor(
            t.name,
            &t.datatype,
            &t.shape,
            t.contents,
            raw.get(i).map(|b| b.as_slice()),
        )?);
    }
    Ok(InferRequest {
        id: (!req.id.is_empty()).then_some(req.id),
        inputs,
        outputs: req.outputs.into_iter().map(|o| o.name).collect(),
        binary_output: !raw.is_empty(),
    })
}

/// An inference request of one FP32 or FP16 input as raw bytes (as
/// tritonclient sends it), asking for `output` (every output when `None`).
pub fn infer_request(
    model: &str,
    input: &str,
    shape: &[usize],
    datatype: DataType,
    data: &[f32],
    output: Option<&str>,
) -> ModelInferRequest {
    let mut raw = Vec::new();
    datatype.encode(data, &mut raw);
    ModelInferRequest {
        model_name: model.to_string(),
        inputs: vec![proto::model_infer_request::InferInputTensor {
            name: input.to_string(),
            datatype: datatype.as_str().to_string(),
            shape: shape.iter().map(|&d| d as i64).collect(),
            ..Default::default()
        }],
        outputs: output
            .map(
                |name| proto::model_infer_request::InferRequestedOutputTensor {
                    name: name.to_string(),
                    ..Default::default()
                },
            )
            .into_iter()
            .collect(),
        raw_input_contents: vec![raw],
        ..Default::default()
    }
}

/// An answer of one FP32 output: raw bytes when the request sent raw
/// inputs, typed contents otherwise.
pub fn infer_response(
    model: &str,
    id: Option<&str>,
    output: &str,
    shape: &[usize],
    data: &[f32],
    raw: bool,
) -> ModelInferResponse {
    let mut bytes = Vec::new();
    let contents = if raw {
        DataType::Fp32.encode(data, &mut bytes);
        None
    } else {
        Some(InferTensorContents {
            fp32_contents: data.to_vec(),
            ..Default::default()
        })
    };
    ModelInferResponse {
        model_name: model.to_string(),
        model_version: "1".into(),
        id: id.unwrap_or_default().to_string(),
        outputs: vec![proto::model_infer_response::InferOutputTensor {
            name: output.to_string(),
            datatype: "FP32".into(),
            shape: shape.iter().map(|&d| d as i64).collect(),
            contents,
            ..Default::default()
        }],
        raw_output_contents: if raw { vec![bytes] } else { Vec::new() },
        ..Default::default()
    }
}

/// Reads an answer's output tensors.
pub fn decode_infer_response(resp: ModelInferResponse) -> Result<Vec<Tensor>, BadMessage> {
    let raw = &resp.raw_output_contents;
    if !raw.is_empty() && raw.len() != resp.outputs.len() {
        return Err(bad(format!(
            "{} raw_output_contents for {} outputs",
            raw.len(),
            resp.outputs.len()
        )));
    }
    resp.outputs
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            tensor(
                t.name,
                &t.datatype,
                &t.shape,
                t.contents,
                raw.get(i).map(|b| b.as_slice()),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_and_typed_requests_decode_to_the_same_tensor() {
        let data: Vec<f32> = (0..12).map(|i| i as f32 / 4.0).collect();
        let raw = infer_request(
            "m",
            "input",
            &[3, 1, 2, 2],
            DataType::Fp32,
            &data,
            Some("logits"),
        );
        let a = decode_infer_request(raw.clone()).unwrap();
        assert!(a.binary_output);
        let mut typed = raw;
        typed.raw_input_contents.clear();
        typed.inputs[0].contents = Some(InferTensorContents {
            fp32_contents: data.clone(),
            ..Default::default()
        });
        let b = decode_infer_request(typed).unwrap();
        assert!(!b.binary_output);
        assert_eq!(a.inputs, b.inputs);
        assert_eq!(a.inputs[0].data, data);
        assert_eq!(a.outputs, ["logits"]);
    }

    #[test]
    fn bad_requests_are_refused_with_a_reason() {
        let good = infer_request("m", "input", &[1, 1, 2, 2], DataType::Fp32, &[0.5; 4], None);
        let refused = |f: &dyn Fn(&mut ModelInferRequest)| {
            let mut r = good.clone();
            f(&mut r);
            decode_infer_request(r).unwrap_err().0
        };
        assert!(refused(&|r| r.raw_input_contents[0].truncate(7)).contains("needs 16"));
        assert!(refused(&|r| r.inputs[0].shape = vec![1, -1, 2, 2]).contains("negative"));
        assert!(refused(&|r| r.inputs[0].shape = vec![i64::MAX, i64::MAX]).contains("too large"));
        assert!(refused(&|r| r.inputs[0].datatype = "INT8".into()).contains("not supported"));
        assert!(refused(&|r| r.raw_input_contents.push(vec![])).contains("for 1 inputs"));
        assert!(
            refused(&|r| r.raw_input_contents[0][..4].copy_from_slice(&f32::NAN.to_le_bytes()))
                .contains("NaN")
        );
        assert!(refused(&|r| r.raw_input_contents.clear()).contains("no data"));
    }

    #[test]
    fn responses_round_trip_raw_and_typed() {
        for raw in [true, false] {
            let r = infer_response(
                "m",
                Some("7"),
                "logits",
                &[2, 3],
                &[1., 2., 3., 4., 5., 6.],
                raw,
            );
            let t = decode_infer_response(r).unwrap();
            assert_eq!(t[0].shape, [2, 3]);
            assert_eq!(t[0].data, [1., 2., 3., 4., 5., 6.]);
        }
    }
}
