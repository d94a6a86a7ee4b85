//! The GPU twin of the CPU encryptor, held equal on lavapipe in CI
//! (`EDGEHIDE_REQUIRE_GPU=1` turns a missing adapter into a failure).
#![cfg(feature = "gpu")]

mod common;

use edgehide::hazmat::{EncryptorHazmat, KeyHazmat};
use edgehide::{Backend, BackendChoice, Encryptor, ModelSpec, OneTimeKey, PublicPool};

/// Relative error allowed between GPU and CPU (the bound).
const TOL: f64 = 1e-6;

#[test]
fn shaders_validate() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "wgsl") {
            continue;
        }
        let src = std::fs::read_to_string(&path).unwrap();
        let module = naga::front::wgsl::parse_str(&src)
            .unwrap_or_else(|e| panic!("{}: {}", path.display(), e.emit_to_string(&src)));
        naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::default(),
        )
        .validate(&module)
        .unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
        assert_eq!(
            module.entry_points.len(),
            1,
            "{}: one entry point per file",
            path.display()
        );
        n += 1;
    }
    assert!(n >= 2);
    // The shaders the library embeds are the ones on disk.
    assert_eq!(
        edgehide::MIX_SHADER,
        std::fs::read_to_string(dir.join("instahide_mix.wgsl")).unwrap()
    );
    assert_eq!(
        edgehide::DISGUISE_SHADER,
        std::fs::read_to_string(dir.join("disguise_blocks.wgsl")).unwrap()
    );
}

/// DisguisedNets: the shader against its CPU twin on every known-answer
/// case (noise included, drawn from the same seed), and a batch split into
/// several submissions.
#[test]
fn disguise_gpu_matches_cpu() {
    for case in common::disguise_cases() {
        let Some(gpu) = common::gpu_or_skip(case.encryptor(BackendChoice::Gpu)) else {
            return;
        };
        assert!(matches!(gpu.backend(), Backend::Gpu(_)));
        let cpu = case.encryptor(BackendChoice::Cpu).unwrap();
        let want = cpu
            .disguise_reference(&case.input, case.noise_seed)
            .unwrap();
        let got = gpu
            .disguise_seeded(std::slice::from_ref(&case.input), case.noise_seed)
            .unwrap();
        let err = common::rel_err(&got, want.data());
        eprintln!("{}: GPU vs CPU relative error {err:e}", case.name);
        assert!(err <= TOL, "{}: relative error {err:e}", case.name);

        let gpu = gpu.with_max_gpu_chunk(2);
        let xs: Vec<_> = (0..5)
            .map(|i| common::synthetic_input(&case.spec, 40 + 3 * i, 37))
            .collect();
        let got = gpu.disguise_seeded(&xs, case.noise_seed).unwrap();
        let want = cpu.disguise_seeded(&xs, case.noise_seed).unwrap();
        let err = common::rel_err(&got, &want);
        assert!(err <= TOL, "{}: batched, relative error {err:e}", case.name);
    }
}

#[test]
fn gpu_matches_cpu_on_known_answer_vectors() {
    for case in common::cases() {
        let Some(gpu) = common::gpu_encryptor(case.spec.clone(), &case.pool) else {
            return;
        };
        assert!(matches!(gpu.backend(), Backend::Gpu(_)));
        let cpu = Encryptor::new(case.spec.clone(), &case.pool, BackendChoice::Cpu).unwrap();
        let want = cpu
            .encrypt_reference(
                &case.input,
                OneTimeKey::insecure_from_seed(case.seed, &cpu).unwrap(),
            )
            .unwrap();
        let got = gpu
            .encrypt(
                &case.input,
                OneTimeKey::insecure_from_seed(case.seed, &gpu).unwrap(),
            )
            .unwrap();
        let err = common::rel_err(got.data(), want.data());
        eprintln!("{}: GPU vs CPU relative error {err:e}", case.name);
        assert!(err <= TOL, "{}: relative error {err:e}", case.name);
        // Same signs everywhere: the mask is applied identically.
        let sign_flips = got
            .data()
            .iter()
            .zip(want.data())
            .filter(|(a, b)| a.is_sign_negative() != b.is_sign_negative() && a.abs() > 1e-6)
            .count();
        assert_eq!(sign_flips, 0, "{}", case.name);
    }
}

#[test]
fn gpu_batches_in_chunks_match_cpu_for_224x224x3() {
    let spec = ModelSpec::imagenet_224();
    let pool = PublicPool::bundled().unwrap();
    let Some(gpu) = common::gpu_encryptor(spec.clone(), &pool) else {
        return;
    };
    // Three frames in chunks of two: two submissions.
    let gpu = gpu.with_max_gpu_chunk(2);
    let cpu = Encryptor::new(spec.clone(), &pool, BackendChoice::Cpu).unwrap();
    let xs: Vec<_> = (0..3)
        .map(|i| common::synthetic_input(&spec, 320 + 16 * i, 240))
        .collect();
    let seeds: Vec<[u8; 32]> = (0..3u8).map(|i| [40 + i; 32]).collect();
    let keys = seeds
        .iter()
        .map(|s| OneTimeKey::insecure_from_seed(*s, &gpu).unwrap())
        .collect();
    let got = gpu.encrypt_batch(&xs, keys).unwrap();
    for ((x, seed), g) in xs.iter().zip(&seeds).zip(&got) {
        let want = cpu
            .encrypt_cpu(x, OneTimeKey::insecure_from_seed(*seed, &cpu).unwrap())
            .unwrap();
        let err = common::rel_err(g.data(), want.data());
        assert!(err <= TOL, "relative error {err:e}");
    }
}

#[test]
fn auto_reports_its_backend() {
    let pool = common::model_sized_corpus(4);
    let enc = Encryptor::new(ModelSpec::fashion_mnist(), &pool, BackendChoice::Auto).unwrap();
    match enc.backend() {
        Backend::Cpu => assert!(
            enc.fallback_reason().is_some(),
            "a CPU fallback must say why"
        ),
        Backend::Gpu(name) => {
            assert!(!name.is_empty());
            assert!(enc.fallback_reason().is_none());
        }
        _ => unreachable!(),
    }
    let cpu = Encryptor::new(ModelSpec::fashion_mnist(), &pool, BackendChoice::Cpu).unwrap();
    assert_eq!(cpu.backend(), Backend::Cpu);
    assert!(cpu.fallback_reason().is_none());
}
