//! Pool files, IDX files, sidecars and DisguisedNets key files from disk or
//! network: a typed error or a valid value, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    if let Ok(pool) = edgehide::PublicPool::from_packed(input) {
        assert!(pool.len() > 0);
    }
    let _ = edgehide::pool::read_idx(input);
    let _ = edgehide::pool::read_idx_labels(input);
    let _ = edgehide::ModelSpec::from_json(&String::from_utf8_lossy(input));
    if let Ok(key) = edgehide::DisguiseKey::from_bytes(input) {
        assert_eq!(key.to_bytes().as_slice(), input);
    }
});
