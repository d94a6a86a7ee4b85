//! Encoding and decoding of inference requests and responses (JSON tensor
//! data and the binary tensor data extension).

use serde::de::{DeserializeSeed, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value, json};

use super::tensor::{DataType, Tensor};

/// Why a message was refused; the text is meant for the sender.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadMessage(pub String);

pub(crate) fn bad(msg: impl Into<String>) -> BadMessage {
    BadMessage(msg.into())
}

/// A decoded `POST /v2/models/{name}/infer` body.
#[derive(Clone, Debug, PartialEq)]
pub struct InferRequest {
    /// The request's id, echoed in the answer.
    pub id: Option<String>,
    /// The input tensors.
    pub inputs: Vec<Tensor>,
    /// Output names asked for (empty: all).
    pub outputs: Vec<String>,
    /// Whether the answer should carry its tensors as binary data.
    pub binary_output: bool,
}

/// An encoded message: the HTTP body and, for binary data, the value of the
/// `Inference-Header-Content-Length` header.
#[derive(Clone, Debug)]
pub struct Encoded {
    /// The HTTP body.
    pub body: Vec<u8>,
    /// The `Inference-Header-Content-Length` value, for binary data.
    pub header_len: Option<usize>,
}

/// The known entries of a `parameters` object (others are ignored).
#[derive(Default, Deserialize)]
struct Params {
    binary_data_size: Option<u64>,
    binary_data: Option<bool>,
    binary_data_output: Option<bool>,
}

#[derive(Deserialize)]
struct WireTensor {
    name: String,
    shape: Vec<u64>,
    datatype: String,
    #[serde(default)]
    parameters: Option<Params>,
    #[serde(default)]
    data: Option<Flat>,
}

#[derive(Deserialize)]
struct WireOutput {
    name: String,
    #[serde(default)]
    parameters: Option<Params>,
}

#[derive(Deserialize)]
struct WireRequest {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    parameters: Option<Params>,
    inputs: Vec<WireTensor>,
    #[serde(default)]
    outputs: Option<Vec<WireOutput>>,
}

#[derive(Deserialize)]
struct WireResponse {
    outputs: Vec<WireTensor>,
}

/// JSON tensor data: numbers, flat or nested in arrays, read straight into
/// f32 (no intermediate `Value` per element).
struct Flat(Vec<f32>);

impl<'de> Deserialize<'de> for Flat {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut out = Vec::new();
        d.deserialize_any(FlatVisitor(&mut out))?;
        Ok(Flat(out))
    }
}

struct FlatVisitor<'a>(&'a mut Vec<f32>);

impl<'de> Visitor<'de> for FlatVisitor<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("numbers, or arrays of numbers")
    }
    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        self.0.push(v as f32);
        Ok(())
    }
    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        self.0.push(v as f32);
        Ok(())
    }
    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        self.0.push(v as f32);
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(FlatSeed(&mut *self.0))?.is_some() {}
        Ok(())
    }
}

struct FlatSeed<'a>(&'a mut Vec<f32>);

impl<'de> DeserializeSeed<'de> for FlatSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(FlatVisitor(self.0))
    }
}

/// A name as it may be echoed in an error (bounded, printable).
/// The number of elements of `shape`, unless it overflows.
pub(crate) fn element_count(shape: &[u64]) -> Option<usize> {
    shape
        .iter()
        .try_fold(1u64, |a, &d| a.checked_mul(d))
        .and_then(|n| usize::try_from(n).ok())
}

pub(crate) fn shown(name: &str) -> String {
    let s: String = name.chars().take(64).filter(|c| !c.is_control()).collect();
    format!("{s:?}")
}

/// Splits a body into its JSON header and binary part.
fn split(body: &[u8], header_len: Option<usize>) -> Result<(&[u8], &[u8]), BadMessage> {
    match header_len {
        None => Ok((body, &[])),
        Some(n) if n <= body.len() => Ok(body.split_at(n)),
        Some(n) => Err(bad(format!(
            "Inference-Header-Content-Length is {n} but the body has only {} bytes",
            body.len()
        ))),
    }
}

/// Reads each tensor's values from its JSON `data` or from the binary part.
fn read_tensors(wire: Vec<WireTensor>, binary: &[u8]) -> Result<Vec<Tensor>, BadMessage> {
    let mut rest = binary;
    let mut out = Vec::with_capacity(wire.len());
    for t in wire {
        let name = shown(&t.name);
        let datatype = DataType::parse(&t.datatype).ok_or_else(|| {
            bad(format!(
                "tensor {name}: datatype {} is not supported (FP32 or FP16)",
                shown(&t.datatype)
            ))
        })?;
        let elements = element_count(&t.shape)
            .ok_or_else(|| bad(format!("tensor {name}: shape {:?} is too large", t.shape)))?;
        let size = t.parameters.as_ref().and_then(|p| p.binary_data_size);
        let data = match (size, t.data) {
            (Some(_), Some(_)) => {
                return Err(bad(format!(
                    "tensor {name} has both JSON data and binary_data_size"
                )));
            }
            (Some(size), None) => {
                let want = elements as u128 * datatype.size() as u128;
                if size as u128 != want {
                    return Err(bad(format!(
                        "tensor {name}: binary_data_size is {size} but shape {:?} of {} needs {want} bytes",
                        t.shape,
                        datatype.as_str()
                    )));
                }
                let size = size as usize;
                if size > rest.len() {
                    return Err(bad(format!(
                        "truncated binary data: tensor {name} needs {size} bytes, {} remain",
                        rest.len()
                    )));
                }
                let (bytes, tail) = rest.split_at(size);
                rest = tail;
                datatype.decode(bytes)
            }
            (None, Some(Flat(values))) => {
                if values.len() != elements {
                    return Err(bad(format!(
                        "tensor {name}: shape {:?} needs {elements} values, data has {}",
                        t.shape,
                        values.len()
                    )));
                }
                values
            }
            (None, None) => return Err(bad(format!("tensor {name} has no data"))),
        };
        if data.iter().any(|v| !v.is_finite()) {
            return Err(bad(format!("tensor {name} holds NaN or infinite values")));
        }
        out.push(Tensor {
            name: t.name,
            shape: t.shape.iter().map(|&d| d as usize).collect(),
            datatype,
            data,
        });
    }
    if !rest.is_empty() {
        return Err(bad(format!(
            "{} bytes of binary data belong to no tensor",
            rest.len()
        )));
    }
    Ok(out)
}

/// Decodes an inference request. `header_len` is the value of the
/// `Inference-Header-Content-Length` header, if the request had one.
pub fn decode_request(body: &[u8], header_len: Option<usize>) -> Result<InferRequest, BadMessage> {
    let (head, binary) = split(body, header_len)?;
    let req: WireRequest =
        serde_json::from_slice(head).map_err(|e| bad(format!("malformed request JSON: {e}")))?;
    let outputs = req.outputs.unwrap_or_default();
    let binary_output = req
        .parameters
        .as_ref()
        .and_then(|p| p.binary_data_output)
        .unwrap_or(false)
        || outputs.iter().any(|o| {
            o.parameters
                .as_ref()
                .and_then(|p| p.binary_data)
                .unwrap_or(false)
        });
    Ok(InferRequest {
        id: req.id,
        inputs: read_tensors(req.inputs, binary)?,
        outputs: outputs.into_iter().map(|o| o.name).collect(),
        binary_output,
    })
}

/// Decodes an inference response's output tensors.
pub fn decode_response(body: &[u8], header_len: Option<usize>) -> Result<Vec<Tensor>, BadMessage> {
    let (head, binary) = split(body, header_len)?;
    let resp: WireResponse =
        serde_json::from_slice(head).map_err(|e| bad(format!("malformed response JSON: {e}")))?;
    read_tensors(resp.outputs, binary)
}

/// A tensor entry with its data inline (JSON) or in the binary part.
fn tensor_entry(
    name: &str,
    shape: &[usize],
    datatype: DataType,
    data: &[f32],
    binary: Option<&mut Vec<u8>>,
) -> Value {
    let mut entry = Map::new();
    entry.insert("name".into(), json!(name));
    entry.insert("shape".into(), json!(shape));
    entry.insert("datatype".into(), json!(datatype.as_str()));
    match binary {
        Some(out) => {
            let before = out.len();
            datatype.encode(data, out);
            entry.insert(
                "parameters".into(),
                json!({ "binary_data_size": out.len() - before }),
            );
        }
        None => {
            entry.insert("data".into(), json!(data));
        }
    }
    Value::Object(entry)
}

fn finish(head: Value, binary: Option<Vec<u8>>) -> Encoded {
    let mut body = serde_json::to_vec(&head).unwrap_or_else(|_| unreachable!("JSON value"));
    match binary {
        Some(bytes) => {
            let header_len = body.len();
            body.extend_from_slice(&bytes);
            Encoded {
                body,
                header_len: Some(header_len),
            }
        }
        None => Encoded {
            body,
            header_len: None,
        },
    }
}

/// An inference request with one input, asking for `output`. With `binary`,
/// the input travels as binary data and the answer is asked for as binary.
pub fn encode_request(
    id: Option<&str>,
    input: &str,
    shape: &[usize],
    datatype: DataType,
    data: &[f32],
    output: &str,
    binary: bool,
) -> Encoded {
    encode_request_for(id, input, shape, datatype, data, Some(output), binary)
}

/// [`encode_request`] for a server that may not name its outputs: with
/// `output` `None` the request asks for every output.
pub fn encode_request_for(
    id: Option<&str>,
    input: &str,
    shape: &[usize],
    datatype: DataType,
    data: &[f32],
    output: Option<&str>,
    binary: bool,
) -> Encoded {
    let mut bytes = binary.then(Vec::new);
    let mut head = Map::new();
    if let Some(id) = id {
        head.insert("id".into(), json!(id));
    }
    head.insert(
        "inputs".into(),
        json!([tensor_entry(input, shape, datatype, data, bytes.as_mut())]),
    );
    match output {
        Some(output) => {
            head.insert(
                "outputs".into(),
                json!([{ "name": output, "parameters": { "binary_data": binary } }]),
            );
        }
        None if binary => {
            head.insert("parameters".into(), json!({ "binary_data_output": true }));
        }
        None => {}
    }
    finish(Value::Object(head), bytes)
}

/// An inference answer with one FP32 output.
pub fn encode_response(
    model: &str,
    id: Option<&str>,
    output: &str,
    shape: &[usize],
    data: &[f32],
    binary: bool,
) -> Encoded {
    let mut bytes = binary.then(Vec::new);
    let mut head = Map::new();
    head.insert("model_name".into(), json!(model));
    head.insert("model_version".into(), json!("1"));
    if let Some(id) = id {
        head.insert("id".into(), json!(id));
    }
    head.insert(
        "outputs".into(),
        json!([tensor_entry(
            output,
            shape,
            DataType::Fp32,
            data,
            bytes.as_mut()
        )]),
    );
    finish(Value::Object(head), bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_and_json_requests_decode_to_the_same_tensor() {
        let data: Vec<f32> = (0..12).map(|i| i as f32 * 0.25 - 1.0).collect();
        for binary in [false, true] {
            let e = encode_request(
                Some("r1"),
                "input",
                &[3, 1, 2, 2],
                DataType::Fp32,
                &data,
                "logits",
                binary,
            );
            let req = decode_request(&e.body, e.header_len).unwrap();
            assert_eq!(req.id.as_deref(), Some("r1"));
            assert_eq!(req.inputs[0].shape, [3, 1, 2, 2]);
            assert_eq!(req.inputs[0].data, data);
            assert_eq!(req.binary_output, binary);
            assert_eq!(req.outputs, ["logits"]);
        }
    }

    #[test]
    fn fp16_rounds_each_value() {
        let data = [1.0f32 / 3.0, -2.5, 1000.1];
        let e = encode_request(None, "x", &[3], DataType::Fp16, &data, "y", true);
        assert_eq!(e.body.len() - e.header_len.unwrap(), 6);
        let got = decode_request(&e.body, e.header_len)
            .unwrap()
            .inputs
            .remove(0);
        assert_eq!(got.datatype, DataType::Fp16);
        for (g, w) in got.data.iter().zip(data) {
            assert_eq!(*g, half::f16::from_f32(w).to_f32());
        }
    }

    #[test]
    fn nested_json_data_is_flattened() {
        let body = br#"{"inputs":[{"name":"x","shape":[2,2],"datatype":"FP32","data":[[1,2],[3.5,-4e0]]}]}"#;
        let req = decode_request(body, None).unwrap();
        assert_eq!(req.inputs[0].data, [1.0, 2.0, 3.5, -4.0]);
        assert!(!req.binary_output);
    }

    #[test]
    fn responses_round_trip() {
        let data = [0.5f32, -1.25, 3.0, 4.0];
        for binary in [false, true] {
            let e = encode_response("m", Some("7"), "logits", &[2, 2], &data, binary);
            let out = decode_response(&e.body, e.header_len).unwrap();
            assert_eq!(out[0].data, data);
            assert_eq!(out[0].shape, [2, 2]);
        }
    }

    fn refused(body: &[u8], header_len: Option<usize>) -> String {
        decode_request(body, header_len).unwrap_err().0
    }

    #[test]
    fn bad_messages_are_refused_with_a_reason() {
        let e = encode_request(None, "x", &[2, 2], DataType::Fp32, &[1.0; 4], "y", true);
        let h = e.header_len.unwrap();
        assert!(refused(&e.body[..e.body.len() - 1], Some(h)).contains("truncated"));
        let mut extra = e.body.clone();
        extra.push(0);
        assert!(refused(&extra, Some(h)).contains("belong to no tensor"));
        assert!(refused(&e.body, Some(e.body.len() + 1)).contains("only"));
        assert!(refused(&e.body, Some(h - 1)).contains("malformed"));
        assert!(refused(b"{", None).contains("malformed"));
        let nan = encode_request(None, "x", &[2], DataType::Fp32, &[1.0, f32::NAN], "y", true);
        assert!(refused(&nan.body, nan.header_len).contains("NaN"));
        let big = br#"{"inputs":[{"name":"x","shape":[4294967296,4294967296,2],"datatype":"FP32","binary_data_size":0}]}"#;
        assert!(refused(big, None).contains("too large") || refused(big, None).contains("no data"));
        let few = br#"{"inputs":[{"name":"x","shape":[3],"datatype":"FP32","data":[1,2]}]}"#;
        assert!(refused(few, None).contains("needs 3 values"));
        let int = br#"{"inputs":[{"name":"x","shape":[1],"datatype":"INT64","data":[1]}]}"#;
        assert!(refused(int, None).contains("not supported"));
        let text = br#"{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":["a"]}]}"#;
        assert!(refused(text, None).contains("malformed"));
        let size = br#"{"inputs":[{"name":"x","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":4}}]}"#;
        assert!(refused(size, Some(size.len())).contains("needs 8 bytes"));
        let huge = br#"{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1e300]}]}"#;
        assert!(refused(huge, None).contains("infinite"));
    }
}
