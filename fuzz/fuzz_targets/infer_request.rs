//! The server's request decoder and the client's response decoder on
//! arbitrary bytes: an error or a value, never a panic, a hang or an
//! allocation larger than the input allows.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    // The first two bytes choose the Inference-Header-Content-Length.
    let (header, body) = match input {
        [a, b, rest @ ..] => (Some(u16::from_le_bytes([*a, *b]) as usize), rest),
        _ => (None, input),
    };
    for h in [None, header] {
        if let Ok(req) = edgehide_oip::decode_request(body, h) {
            for t in &req.inputs {
                assert_eq!(t.data.len(), t.shape.iter().product::<usize>());
                assert!(t.data.iter().all(|v| v.is_finite()));
            }
        }
        let _ = edgehide_oip::decode_response(body, h);
    }
});
