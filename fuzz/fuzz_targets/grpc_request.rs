//! The gRPC service's request decoder and the client's response decoder on
//! arbitrary protobuf bytes: an error or a value, never a panic, a hang or
//! an allocation larger than the input allows.
#![no_main]

use edgehide_oip::grpc::{self, proto};
use libfuzzer_sys::fuzz_target;
use prost::Message;

fuzz_target!(|input: &[u8]| {
    if let Ok(req) = proto::ModelInferRequest::decode(input)
        && let Ok(req) = grpc::decode_infer_request(req)
    {
        for t in &req.inputs {
            assert_eq!(t.data.len(), t.shape.iter().product::<usize>());
            assert!(t.data.iter().all(|v| v.is_finite()));
        }
    }
    if let Ok(resp) = proto::ModelInferResponse::decode(input) {
        let _ = grpc::decode_infer_response(resp);
    }
});
