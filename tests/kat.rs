//! Known-answer vectors: seeded test keys, fixed inputs, stored outputs.
//! The CPU reference and fast path must reproduce them; `tests/gpu.rs` holds
//! the GPU to the same vectors. Regenerate (after a deliberate change to the
//! scheme) with `EDGEHIDE_BLESS=1 cargo test --test kat`.

mod common;

use edgehide::hazmat::{EncryptorHazmat, KeyHazmat};
use edgehide::{BackendChoice, Encryptor, OneTimeKey};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct Vector {
    name: String,
    spec: serde_json::Value,
    pool_fingerprint: String,
    seed: String,
    weights: Vec<f32>,
    slots: Vec<(u32, i32, i32, u32, u32, bool)>,
    input_sha256: String,
    output: Vec<f32>,
}

#[test]
fn known_answer_vectors() {
    let bless = std::env::var_os("EDGEHIDE_BLESS").is_some();
    for case in common::cases() {
        let enc = Encryptor::new(case.spec.clone(), &case.pool, BackendChoice::Cpu).unwrap();
        let key = OneTimeKey::insecure_from_seed(case.seed, &enc).unwrap();
        let view = key.insecure_view();
        let reference = enc.encrypt_reference(&case.input, key).unwrap();
        let fast = enc
            .encrypt_cpu(
                &case.input,
                OneTimeKey::insecure_from_seed(case.seed, &enc).unwrap(),
            )
            .unwrap();
        // Same values in the same order: bit-identical.
        assert_eq!(
            reference.data(),
            fast.data(),
            "{}: fast path differs from the reference",
            case.name
        );

        let got = Vector {
            name: case.name.into(),
            spec: serde_json::from_str(&case.spec.to_json()).unwrap(),
            pool_fingerprint: case.pool.fingerprint_hex(),
            seed: hex::encode(case.seed),
            weights: view.weights,
            slots: view.slots,
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
        assert_eq!(
            got.pool_fingerprint, want.pool_fingerprint,
            "{}: corpus",
            case.name
        );
        assert_eq!(
            got.input_sha256, want.input_sha256,
            "{}: preprocessing",
            case.name
        );
        assert_eq!(got.weights, want.weights, "{}: coefficients", case.name);
        assert_eq!(got.slots, want.slots, "{}: public slots", case.name);
        let err = common::rel_err(&got.output, &want.output);
        assert!(
            err <= 1e-6,
            "{}: output differs from the vector, relative error {err:e}",
            case.name
        );
    }
}

#[test]
fn vectors_are_sensitive_to_the_key() {
    let case = common::cases().remove(0);
    let enc = Encryptor::new(case.spec.clone(), &case.pool, BackendChoice::Cpu).unwrap();
    let mut other = case.seed;
    other[31] ^= 1;
    let a = enc
        .encrypt_reference(
            &case.input,
            OneTimeKey::insecure_from_seed(case.seed, &enc).unwrap(),
        )
        .unwrap();
    let b = enc
        .encrypt_reference(
            &case.input,
            OneTimeKey::insecure_from_seed(other, &enc).unwrap(),
        )
        .unwrap();
    assert!(common::rel_err(a.data(), b.data()) > 0.1);
}

#[test]
fn cpu_batch_equals_the_reference_frame_by_frame() {
    let case = common::cases().remove(0);
    let enc = Encryptor::new(case.spec.clone(), &case.pool, BackendChoice::Cpu).unwrap();
    let xs: Vec<_> = (0..9)
        .map(|i| common::synthetic_input(&case.spec, 60 + i, 50))
        .collect();
    let seeds: Vec<[u8; 32]> = (0..9u8).map(|i| [100 + i; 32]).collect();
    let keys = seeds
        .iter()
        .map(|s| OneTimeKey::insecure_from_seed(*s, &enc).unwrap())
        .collect();
    let batch = enc.encrypt_batch(&xs, keys).unwrap();
    for ((x, s), got) in xs.iter().zip(&seeds).zip(&batch) {
        let want = enc
            .encrypt_reference(x, OneTimeKey::insecure_from_seed(*s, &enc).unwrap())
            .unwrap();
        assert_eq!(got.data(), want.data());
    }
}

/// The fast path's kernels and branches (AVX-512 where the CPU has it; the
/// portable kernel's runs of consecutive columns for crops near the model
/// size and column-by-column sampling for zoomed-out crops; flipped or not;
/// shifted images with black padding; crops too wide for the AVX-512
/// windows, which fall back) all give the reference's bits, and so does
/// the split encryption of a prepared key.
#[test]
fn fast_path_and_prepared_keys_equal_reference_on_many_keys() {
    let pool = edgehide::PublicPool::bundled().unwrap();
    let digits = common::model_sized_corpus(6);
    let fm = edgehide::ModelSpec::fashion_mnist();
    // Crops up to the photos' full height (240 / 28 = 8.6x): past the
    // 8.4x that one AVX-512 window holds, so some keys take the fallback.
    let wide = fm
        .with_params(
            edgehide::ParamsBuilder {
                max_zoom: 20.0,
                ..Default::default()
            }
            .build()
            .unwrap(),
        )
        .unwrap();
    let rgb30 = edgehide::ModelSpec::new(
        "rgb-30",
        edgehide::Geometry {
            channels: 3,
            height: 30,
            width: 30,
        },
        vec![0.5; 3],
        vec![0.25; 3],
        edgehide::Params::default(),
    )
    .unwrap();
    let specs = [
        (edgehide::ModelSpec::imagenet_224(), &pool, 12u8),
        (fm.clone(), &pool, 40),
        (fm, &digits, 40),
        (wide, &pool, 40),
        (rgb30, &pool, 20),
    ];
    for (spec, pool, n) in specs {
        let enc = Encryptor::new(spec.clone(), pool, BackendChoice::Cpu).unwrap();
        let x = common::synthetic_input(&spec, 300, 260);
        let mut flips = [0usize; 2];
        for i in 0..n {
            let seed = [i.wrapping_mul(37).wrapping_add(11); 32];
            let view = OneTimeKey::insecure_from_seed(seed, &enc)
                .unwrap()
                .insecure_view();
            for s in &view.slots {
                flips[s.5 as usize] += 1;
            }
            let want = enc
                .encrypt_reference(&x, OneTimeKey::insecure_from_seed(seed, &enc).unwrap())
                .unwrap();
            let got = enc
                .encrypt_cpu(&x, OneTimeKey::insecure_from_seed(seed, &enc).unwrap())
                .unwrap();
            assert_eq!(got.data(), want.data(), "{} seed {i}", spec.name());
            let portable = enc
                .encrypt_cpu_portable(&x, OneTimeKey::insecure_from_seed(seed, &enc).unwrap())
                .unwrap();
            assert_eq!(
                portable.data(),
                want.data(),
                "{} seed {i}, portable",
                spec.name()
            );
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            let key = || OneTimeKey::insecure_from_seed(seed, &enc).unwrap();
            for (how, prepared) in [
                ("prepared", enc.prepare_key(key())),
                ("prepared, portable", enc.prepare_key_portable(key())),
            ] {
                let mut split = vec![f32::NAN; x.data().len()];
                enc.encrypt_prepared_into(&x, prepared.unwrap(), &mut split)
                    .unwrap();
                assert_eq!(
                    bits(&split),
                    bits(want.data()),
                    "{} seed {i}, {how}",
                    spec.name()
                );
            }
        }
        assert!(flips[0] > 0 && flips[1] > 0, "both mirror states covered");
    }
}
