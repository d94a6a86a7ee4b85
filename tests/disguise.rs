//! DisguisedNets: known-answer vectors (key file bytes, frame, noise seed ->
//! stored output), the fast path equal to the reference bit for bit, the
//! transform's structure (orthogonal blocks, permuted), its noise, and the
//! errors of keys and sidecars that do not fit. Regenerate the vectors
//! (after a deliberate change to the scheme) with
//! `EDGEHIDE_BLESS=1 cargo test --test disguise`.

mod common;

use edgehide::hazmat::EncryptorHazmat;
use edgehide::{BackendChoice, DisguiseKey, DisguiseParams, Encryptor, Error, ModelSpec, Scheme};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct Vector {
    name: String,
    spec: serde_json::Value,
    key_file: String,
    key_id: String,
    noise_seed: String,
    input_sha256: String,
    output: Vec<f32>,
}

#[test]
fn known_answer_vectors() {
    let bless = std::env::var_os("EDGEHIDE_BLESS").is_some();
    for case in common::disguise_cases() {
        let enc = case.encryptor(BackendChoice::Cpu).unwrap();
        let reference = enc
            .disguise_reference(&case.input, case.noise_seed)
            .unwrap();
        let fast = enc.disguise_cpu(&case.input, case.noise_seed).unwrap();
        assert_eq!(
            reference.data(),
            fast.data(),
            "{}: fast path differs from the reference",
            case.name
        );
        assert_eq!(reference.meta().scheme, Scheme::DisguisedNets);
        let got = Vector {
            name: case.name.into(),
            spec: serde_json::from_str(&case.spec.to_json()).unwrap(),
            key_file: hex::encode(&case.key),
            key_id: case.key().id(),
            noise_seed: hex::encode(case.noise_seed),
            input_sha256: common::sha_f32(case.input.data()),
            output: reference.data().to_vec(),
        };
        let file = common::kat_path(case.name);
        if bless {
            std::fs::write(&file, serde_json::to_string(&got).unwrap()).unwrap();
            continue;
        }
        let want: Vector = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(got.spec, want.spec, "{}: spec", case.name);
        assert_eq!(got.key_file, want.key_file, "{}: key file", case.name);
        assert_eq!(got.key_id, want.key_id, "{}: key id", case.name);
        assert_eq!(
            got.input_sha256, want.input_sha256,
            "{}: preprocessing",
            case.name
        );
        let err = common::rel_err(&got.output, &want.output);
        assert!(
            err <= 1e-6,
            "{}: output differs from the vector, relative error {err:e}",
            case.name
        );
    }
}

/// Without noise the disguise is orthogonal per block and moves blocks
/// whole: every block's norm reappears at some position, the frame's norm is
/// kept, and the output is not the frame.
#[test]
fn blocks_keep_their_norms_and_move() {
    let case = common::disguise_cases().remove(0);
    let enc = case.encryptor(BackendChoice::Cpu).unwrap();
    let x = case.input.data();
    let y = enc.encrypt_fresh(&case.input).unwrap();
    let y = y.data();
    let norms = |v: &[f32]| {
        let mut n: Vec<f64> = (0..49)
            .map(|p| {
                let (by, bx) = ((p / 7) * 4, (p % 7) * 4);
                (0..16)
                    .map(|e| v[(by + e / 4) * 28 + bx + e % 4] as f64)
                    .map(|a| a * a)
                    .sum::<f64>()
            })
            .collect();
        n.sort_by(f64::total_cmp);
        n
    };
    for (a, b) in norms(x).iter().zip(norms(y)) {
        assert!((a - b).abs() <= 1e-4 * a.max(1.0), "{a} vs {b}");
    }
    assert!(common::rel_err(y, x) > 0.5);
    // A deterministic scheme without noise: the same frame, the same output.
    assert_eq!(enc.encrypt_fresh(&case.input).unwrap().data(), y);
}

#[test]
fn noise_is_fresh_and_has_the_stated_size() {
    let case = common::disguise_cases().remove(1);
    let enc = case.encryptor(BackendChoice::Cpu).unwrap();
    let clean = {
        let spec = case.spec.with_disguise(DisguiseParams {
            noise: 0.0,
            ..case.spec.disguise().unwrap().clone()
        });
        Encryptor::with_key(spec.unwrap(), case.key(), BackendChoice::Cpu)
            .unwrap()
            .encrypt_fresh(&case.input)
            .unwrap()
    };
    let a = enc.encrypt_fresh(&case.input).unwrap();
    let b = enc.encrypt_fresh(&case.input).unwrap();
    assert_ne!(a.data(), b.data(), "fresh noise per frame");
    let diff: Vec<f64> = a
        .data()
        .iter()
        .zip(clean.data())
        .map(|(a, c)| (a - c) as f64)
        .collect();
    let n = diff.len() as f64;
    let mean = diff.iter().sum::<f64>() / n;
    let sd = (diff.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / n).sqrt();
    // 784 draws of N(0, 0.25^2): the sample sd is within 10% with
    // overwhelming probability.
    assert!((sd - 0.25).abs() < 0.025, "noise sd {sd}");
    assert!(mean.abs() < 0.05, "noise mean {mean}");
}

#[test]
fn batches_equal_single_frames() {
    let case = common::disguise_cases().remove(0);
    let enc = case.encryptor(BackendChoice::Cpu).unwrap();
    let xs: Vec<_> = (0..5)
        .map(|i| common::synthetic_input(&case.spec, 40 + i, 30))
        .collect();
    assert!(enc.encrypt_batch_fresh(&[]).unwrap().is_empty());
    enc.encrypt_fresh_into(&[], &mut []).unwrap();
    let batch = enc.encrypt_batch_fresh(&xs).unwrap();
    let mut flat = vec![0f32; 5 * 784];
    enc.encrypt_fresh_into(&xs, &mut flat).unwrap();
    for (i, (x, e)) in xs.iter().zip(&batch).enumerate() {
        let want = enc.disguise_reference(x, [0; 32]).unwrap();
        assert_eq!(e.data(), want.data());
        assert_eq!(&flat[i * 784..(i + 1) * 784], want.data());
    }
}

#[test]
fn keys_and_sidecars_that_do_not_fit_are_refused() {
    let case = common::disguise_cases().remove(0);
    // Opened without its key, or asked for one-time keys.
    let pool = common::model_sized_corpus(2);
    assert!(matches!(
        Encryptor::new(case.spec.clone(), &pool, BackendChoice::Cpu),
        Err(Error::SchemeMismatch(_))
    ));
    let enc = case.encryptor(BackendChoice::Cpu).unwrap();
    assert!(matches!(enc.new_key(), Err(Error::SchemeMismatch(_))));
    assert!(matches!(enc.prepare(), Err(Error::SchemeMismatch(_))));
    assert_eq!(enc.effective_pool_log2(), 0.0);
    // A key for another block size, another frame size, another id.
    let other_block = DisguiseKey::from_bytes(&common::disguise_key_bytes(11, 7, 28, 28)).unwrap();
    let other_size = DisguiseKey::from_bytes(&common::disguise_key_bytes(11, 4, 32, 32)).unwrap();
    for key in [other_block, other_size] {
        assert!(matches!(
            Encryptor::with_key(case.spec.clone(), key, BackendChoice::Cpu),
            Err(Error::KeyMismatch(_))
        ));
    }
    let bound = case
        .spec
        .with_disguise(DisguiseParams {
            key_id: Some(case.key().id()),
            ..case.spec.disguise().unwrap().clone()
        })
        .unwrap();
    assert!(Encryptor::with_key(bound.clone(), case.key(), BackendChoice::Cpu).is_ok());
    let stranger = DisguiseKey::from_bytes(&common::disguise_key_bytes(99, 4, 28, 28)).unwrap();
    assert!(matches!(
        Encryptor::with_key(bound, stranger, BackendChoice::Cpu),
        Err(Error::KeyMismatch(_))
    ));
    // An InstaHide spec with a key.
    assert!(matches!(
        Encryptor::with_key(ModelSpec::fashion_mnist(), case.key(), BackendChoice::Cpu),
        Err(Error::SchemeMismatch(_))
    ));
    // A frame of the wrong size.
    let wrong = common::synthetic_input(&ModelSpec::imagenet_224(), 30, 30);
    assert!(matches!(
        enc.encrypt_fresh(&wrong),
        Err(Error::ShapeMismatch { .. })
    ));
}

#[test]
fn sidecars_round_trip_and_bad_ones_are_refused() {
    let spec = common::disguise_cases().remove(1).spec;
    let json = spec.to_json();
    assert!(json.contains("\"scheme\": \"disguisednets\""), "{json}");
    assert!(!json.contains("encryption"), "{json}");
    assert_eq!(ModelSpec::from_json(&json).unwrap(), spec);
    let bad = [
        json.replace("\"block\": 7", "\"block\": 5"),
        json.replace("\"block\": 7", "\"block\": 1"),
        json.replace("\"noise\": 0.25", "\"noise\": -1.0"),
        json.replace("\"noise\": 0.25", "\"noise\": 1e9"),
        json.replace("\"noise\": 0.25", "\"noise\": 0.25, \"key_id\": \"xyz\""),
        json.replace("\"noise\": 0.25", "\"noise\": 0.25, \"matrix\": [1]"),
        json.replacen('{', "{\"encryption\": {\"k\": 4},", 1),
        json.replace("\"scheme\": \"disguisednets\"", "\"scheme\": \"instahide\""),
        ModelSpec::fashion_mnist()
            .to_json()
            .replacen('{', "{\"disguise\": {\"block\": 4},", 1),
    ];
    for c in bad {
        assert!(
            matches!(ModelSpec::from_json(&c), Err(Error::InvalidSpec(_))),
            "{c}"
        );
    }
}
