//! Helpers shared by the integration tests.
#![allow(dead_code)]

use edgehide::{
    BackendChoice, Encryptor, FrameRef, Geometry, ModelSpec, PixelFormat, PlainTensor, PoolImage,
    PublicPool,
};

/// A corpus of model-sized (28x28) grey images with distinct patterns: the
/// "digit dataset" kind of corpus, made up so the tests need no download.
pub fn model_sized_corpus(n: usize) -> PublicPool {
    let imgs = (0..n)
        .map(|i| {
            let px = (0..28 * 28)
                .map(|p| ((p % 28) * (i + 1) + (p / 28) * 7 + i * 13) as u8)
                .collect();
            PoolImage::new(28, 28, 1, px).unwrap()
        })
        .collect();
    PublicPool::from_images(imgs).unwrap()
}

/// A deterministic camera frame of the given size, preprocessed for `spec`.
pub fn synthetic_input(spec: &ModelSpec, w: u32, h: u32) -> PlainTensor {
    let rgb: Vec<u8> = (0..w * h * 3)
        .map(|i| ((i * 37 + i / 7) % 256) as u8)
        .collect();
    let frame = FrameRef::packed(&rgb, w, h, PixelFormat::Rgb8).unwrap();
    edgehide::hazmat::preprocess(&frame, spec).unwrap()
}

/// A known-answer case: a spec, its corpus, an input and a key seed.
pub struct Case {
    pub name: &'static str,
    pub spec: ModelSpec,
    pub pool: PublicPool,
    pub input: PlainTensor,
    pub seed: [u8; 32],
}

pub fn cases() -> Vec<Case> {
    let fm = ModelSpec::fashion_mnist();
    let k = |spec: &ModelSpec, k| spec.with_params(spec.params().with_k(k).unwrap()).unwrap();
    let rgb32 = ModelSpec::new(
        "rgb-32",
        Geometry {
            channels: 3,
            height: 32,
            width: 32,
        },
        vec![0.49, 0.48, 0.45],
        vec![0.25, 0.24, 0.26],
        edgehide::ParamsBuilder {
            k: 3,
            max_zoom: 3.0,
            ..Default::default()
        }
        .build()
        .unwrap(),
    )
    .unwrap();
    let bundled = PublicPool::bundled().unwrap();
    let seed = |b: u8| [b; 32];
    vec![
        Case {
            name: "fm28-k4-photos",
            input: synthetic_input(&fm, 100, 80),
            spec: fm.clone(),
            pool: bundled.clone(),
            seed: seed(1),
        },
        Case {
            name: "fm28-k1-photos",
            input: synthetic_input(&fm, 28, 28),
            spec: k(&fm, 1),
            pool: bundled.clone(),
            seed: seed(2),
        },
        Case {
            name: "fm28-k2-shifted",
            input: synthetic_input(&fm, 56, 56),
            spec: k(&fm, 2),
            pool: model_sized_corpus(10),
            seed: seed(3),
        },
        Case {
            name: "fm28-k8-shifted",
            input: synthetic_input(&fm, 30, 28),
            spec: k(&fm, 8),
            pool: model_sized_corpus(10),
            seed: seed(4),
        },
        Case {
            name: "rgb32-k3-photos",
            input: synthetic_input(&rgb32, 64, 48),
            spec: rgb32,
            pool: bundled,
            seed: seed(5),
        },
    ]
}

/// The GPU encryptor, or `None` (test skipped) when there is no adapter and
/// `EDGEHIDE_REQUIRE_GPU` is not set; with it set, a missing adapter fails.
pub fn gpu_encryptor(spec: ModelSpec, pool: &PublicPool) -> Option<Encryptor> {
    gpu_or_skip(Encryptor::new(spec, pool, BackendChoice::Gpu))
}

/// [`gpu_encryptor`] for an encryptor opened some other way.
pub fn gpu_or_skip(opened: edgehide::Result<Encryptor>) -> Option<Encryptor> {
    match opened {
        Ok(e) => Some(e),
        Err(e @ edgehide::Error::NoGpu(_)) => {
            if std::env::var_os("EDGEHIDE_REQUIRE_GPU").is_some_and(|v| v == "1") {
                panic!("EDGEHIDE_REQUIRE_GPU=1 but the GPU backend failed: {e}");
            }
            eprintln!("skipping GPU test: {e}");
            None
        }
        Err(e) => panic!("GPU encryptor failed: {e}"),
    }
}

/// norm(a - b) / norm(b).
pub fn rel_err(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    let num: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| ((*x - *y) as f64).powi(2))
        .sum();
    let den: f64 = b.iter().map(|y| (*y as f64).powi(2)).sum();
    (num / den).sqrt()
}

/// A second copy of a frame (`PlainTensor` is not `Clone`, so that private
/// frames are not copied by accident).
pub fn copy(x: &PlainTensor) -> PlainTensor {
    PlainTensor::new(x.geometry(), x.data().to_vec()).unwrap()
}

/// A DisguisedNets known-answer case: a key file's bytes (the format pinned
/// here byte by byte), a frame, and the seed of its noise.
pub struct DisguiseCase {
    pub name: &'static str,
    pub spec: ModelSpec,
    pub key: Vec<u8>,
    pub input: PlainTensor,
    pub noise_seed: [u8; 32],
}

impl DisguiseCase {
    pub fn key(&self) -> edgehide::DisguiseKey {
        edgehide::DisguiseKey::from_bytes(&self.key).unwrap()
    }
    pub fn encryptor(&self, backend: BackendChoice) -> edgehide::Result<Encryptor> {
        Encryptor::with_key(self.spec.clone(), self.key(), backend)
    }
}

/// Key file bytes: magic, version 1, block, height, width, seed.
pub fn disguise_key_bytes(seed: u8, block: u32, height: u32, width: u32) -> Vec<u8> {
    let mut v = b"EHDNKEY\0".to_vec();
    for w in [1, block, height, width] {
        v.extend_from_slice(&w.to_le_bytes());
    }
    v.extend_from_slice(&[seed; 32]);
    v
}

pub fn disguise_cases() -> Vec<DisguiseCase> {
    let fm = ModelSpec::fashion_mnist();
    let rgb32 = ModelSpec::new(
        "rgb-32",
        Geometry {
            channels: 3,
            height: 32,
            width: 32,
        },
        vec![0.49, 0.48, 0.45],
        vec![0.25, 0.24, 0.26],
        edgehide::Params::default(),
    )
    .unwrap();
    let disguised = |spec: &ModelSpec, block, noise| {
        spec.with_disguise(edgehide::DisguiseParams {
            block,
            noise,
            key_id: None,
        })
        .unwrap()
    };
    vec![
        DisguiseCase {
            name: "fm28-dn-b4",
            spec: disguised(&fm, 4, 0.0),
            key: disguise_key_bytes(11, 4, 28, 28),
            input: synthetic_input(&fm, 100, 80),
            noise_seed: [12; 32],
        },
        DisguiseCase {
            name: "fm28-dn-b7-noise",
            spec: disguised(&fm, 7, 0.25),
            key: disguise_key_bytes(13, 7, 28, 28),
            input: synthetic_input(&fm, 28, 28),
            noise_seed: [14; 32],
        },
        DisguiseCase {
            name: "rgb32-dn-b8",
            spec: disguised(&rgb32, 8, 0.0),
            key: disguise_key_bytes(15, 8, 32, 32),
            input: synthetic_input(&rgb32, 64, 48),
            noise_seed: [16; 32],
        },
    ]
}

/// A known-answer vector file, `tests/data/kat-NAME.json`.
pub fn kat_path(name: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(format!("kat-{name}.json"))
}

/// SHA-256 of values as little-endian f32, hex.
pub fn sha_f32(values: &[f32]) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for v in values {
        h.update(v.to_le_bytes());
    }
    hex::encode(h.finalize())
}
