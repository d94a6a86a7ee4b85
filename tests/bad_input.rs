//! Bad input gets a typed error, never a panic.

mod common;

use edgehide::hazmat::{EncryptorHazmat, KeyHazmat};
use edgehide::{
    BackendChoice, Encryptor, Error, FrameRef, Geometry, ModelSpec, OneTimeKey, PixelFormat,
    PlainTensor, PoolImage, PublicPool,
};
use rand::RngExt;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

fn fm() -> ModelSpec {
    ModelSpec::fashion_mnist()
}

#[test]
fn frames_with_wrong_sizes_or_strides() {
    let buf = vec![0u8; 64 * 64 * 4];
    let cases = [
        FrameRef::new(&buf, 0, 64, 256, PixelFormat::Rgba8),
        FrameRef::new(&buf, 64, 0, 256, PixelFormat::Rgba8),
        FrameRef::new(&buf, 64, 64, 255, PixelFormat::Rgba8),
        FrameRef::new(&buf, 64, 65, 256, PixelFormat::Rgba8),
        FrameRef::new(&buf, 100_000, 1, 400_000, PixelFormat::Rgba8),
        FrameRef::packed(&buf, 64, 64, PixelFormat::Rgb8),
    ];
    for c in cases {
        assert!(matches!(c, Err(Error::InvalidFrame(_))), "{c:?}");
    }
}

#[test]
fn tensors_with_wrong_shape_or_nan() {
    let g = fm().geometry();
    assert!(matches!(
        PlainTensor::new(g, vec![0.0; 783]),
        Err(Error::InvalidFrame(_))
    ));
    let mut v = vec![0.0; 784];
    v[100] = f32::NAN;
    assert!(matches!(PlainTensor::new(g, v), Err(Error::NonFinite(_))));
    // A tensor for another model.
    let pool = PublicPool::bundled().unwrap();
    let enc = Encryptor::new(fm(), &pool, BackendChoice::Cpu).unwrap();
    let other = PlainTensor::new(
        Geometry {
            channels: 1,
            height: 32,
            width: 32,
        },
        vec![0.0; 1024],
    )
    .unwrap();
    let key = enc.new_key().unwrap();
    assert!(matches!(
        enc.encrypt(&other, key),
        Err(Error::ShapeMismatch { .. })
    ));
    let x = PlainTensor::new(g, vec![0.0; 784]).unwrap();
    let mut out = vec![0.0; 10];
    assert!(
        enc.encrypt_cpu_into(&x, enc.new_key().unwrap(), &mut out)
            .is_err()
    );
    assert!(
        enc.encrypt_batch(
            &[common::copy(&x), common::copy(&x)],
            vec![enc.new_key().unwrap()]
        )
        .is_err()
    );
    // The request path's form: one buffer for all frames, checked first.
    let mut two = vec![0.0; 2 * 784];
    assert!(
        enc.encrypt_fresh_into(std::slice::from_ref(&x), &mut two)
            .is_err()
    );
    assert!(matches!(
        enc.encrypt_fresh_into(&[common::copy(&x), other], &mut two),
        Err(Error::ShapeMismatch { .. })
    ));
    enc.encrypt_fresh_into(&[common::copy(&x), x], &mut two)
        .unwrap();
    // Fresh keys: the same frame encrypts differently.
    assert_ne!(two[..784], two[784..]);
}

#[test]
fn keys_from_another_encryptor_are_refused() {
    let a = Encryptor::new(fm(), &PublicPool::bundled().unwrap(), BackendChoice::Cpu).unwrap();
    let b = Encryptor::new(fm(), &common::model_sized_corpus(3), BackendChoice::Cpu).unwrap();
    let x = PlainTensor::new(fm().geometry(), vec![0.0; 784]).unwrap();
    assert!(matches!(
        b.encrypt(&x, a.new_key().unwrap()),
        Err(Error::KeyMismatch(_))
    ));
    let k2 = fm().with_params(fm().params().with_k(2).unwrap()).unwrap();
    let c = Encryptor::new(k2, &PublicPool::bundled().unwrap(), BackendChoice::Cpu).unwrap();
    assert!(matches!(
        c.encrypt(&x, a.new_key().unwrap()),
        Err(Error::KeyMismatch(_))
    ));
    // Prepared keys too, whether the key or the prepared key strays.
    let mut out = vec![0.0; 784];
    assert!(matches!(
        b.prepare_key(a.new_key().unwrap()),
        Err(Error::KeyMismatch(_))
    ));
    for other in [&b, &c] {
        assert!(matches!(
            other.encrypt_prepared_into(&x, a.prepare().unwrap(), &mut out),
            Err(Error::KeyMismatch(_))
        ));
    }
}

#[test]
fn prepared_keys_check_the_frame_and_the_buffer() {
    let enc = Encryptor::new(fm(), &PublicPool::bundled().unwrap(), BackendChoice::Cpu).unwrap();
    let x = PlainTensor::new(fm().geometry(), vec![0.5; 784]).unwrap();
    let wrong = PlainTensor::new(
        edgehide::Geometry {
            channels: 1,
            height: 14,
            width: 56,
        },
        vec![0.5; 784],
    )
    .unwrap();
    let mut out = vec![0.0; 784];
    assert!(matches!(
        enc.encrypt_prepared_into(&wrong, enc.prepare().unwrap(), &mut out),
        Err(Error::ShapeMismatch { .. })
    ));
    let mut short = vec![0.0; 783];
    assert!(
        enc.encrypt_prepared_into(&x, enc.prepare().unwrap(), &mut short)
            .is_err()
    );
    enc.encrypt_prepared_into(&x, enc.prepare().unwrap(), &mut out)
        .unwrap();
    let mut again = vec![0.0; 784];
    enc.encrypt_prepared_into(&x, enc.prepare().unwrap(), &mut again)
        .unwrap();
    // Fresh keys: the same frame encrypts differently.
    assert_ne!(out, again);
    assert!(format!("{:?}", enc.prepare().unwrap()).contains("redacted"));
}

#[test]
fn pools_that_do_not_fit() {
    assert!(matches!(
        PublicPool::from_images(vec![]),
        Err(Error::InvalidPool(_))
    ));
    let small =
        PublicPool::from_images(vec![PoolImage::new(20, 40, 1, vec![0; 800]).unwrap()]).unwrap();
    assert!(matches!(
        Encryptor::new(fm(), &small, BackendChoice::Cpu),
        Err(Error::InvalidPool(_))
    ));
    assert!(PoolImage::new(10, 10, 2, vec![0; 200]).is_err());
    assert!(PoolImage::new(10, 10, 1, vec![0; 99]).is_err());
    // The model names another corpus.
    let bound = fm().with_pool_fingerprint(Some(PublicPool::bundled().unwrap().fingerprint_hex()));
    assert!(matches!(
        Encryptor::new(bound, &common::model_sized_corpus(2), BackendChoice::Cpu),
        Err(Error::InvalidPool(_))
    ));
}

#[test]
fn unreadable_files() {
    let dir = tempfile::tempdir().unwrap();
    // Missing path.
    assert!(matches!(
        PublicPool::load(&dir.path().join("nope.ehpool")),
        Err(Error::Io { .. })
    ));
    // Empty folder.
    assert!(matches!(
        PublicPool::load(dir.path()),
        Err(Error::InvalidPool(_))
    ));
    // A corrupt PNG in a folder.
    std::fs::write(
        dir.path().join("broken.png"),
        b"\x89PNG\r\n\x1a\nnot really",
    )
    .unwrap();
    assert!(matches!(
        PublicPool::load(dir.path()),
        Err(Error::ImageDecode { .. })
    ));
    // An IDX file with a NaN pixel.
    let mut idx = vec![0, 0, 0x0D, 3, 0, 0, 0, 1, 0, 0, 0, 28, 0, 0, 0, 28];
    for i in 0..784 {
        idx.extend_from_slice(&(if i == 5 { f32::NAN } else { 0.5f32 }).to_be_bytes());
    }
    let nan = dir.path().join("nan-idx3-ubyte");
    std::fs::write(&nan, &idx).unwrap();
    assert!(matches!(PublicPool::load(&nan), Err(Error::NonFinite(_))));
    // A corrupt pool file.
    let bad = dir.path().join("bad.ehpool");
    std::fs::write(&bad, b"EHPOOL01\xff\xff\xff\xff").unwrap();
    assert!(matches!(PublicPool::load(&bad), Err(Error::InvalidPool(_))));
    // A PNG that claims 16000x16000 RGB (768 MB decoded) in a few bytes:
    // refused from its header.
    let bomb = dir.path().join("bomb.png");
    std::fs::write(&bomb, png_header(16000, 16000)).unwrap();
    for model in [ModelSpec::fashion_mnist(), ModelSpec::imagenet_224()] {
        match edgehide::load_image_file(&bomb, &model.geometry()) {
            Err(Error::ImageDecode { reason, .. }) => {
                assert!(reason.contains("16000x16000"), "{reason}")
            }
            other => panic!("{:?}", other.map(|(_, w, h)| (w, h))),
        }
    }
    // Specs.
    assert!(matches!(
        ModelSpec::from_json_file(&dir.path().join("none.json")),
        Err(Error::Io { .. })
    ));
    let spec = dir.path().join("bad.json");
    std::fs::write(&spec, r#"{"name": "x"}"#).unwrap();
    assert!(matches!(
        ModelSpec::from_json_file(&spec),
        Err(Error::InvalidSpec(_))
    ));
}

/// Random truncations and byte flips of valid pool and IDX files: each
/// either parses or returns an error; none panics or hangs.
#[test]
fn mutated_pool_and_idx_bytes_never_panic() {
    let pool = common::model_sized_corpus(3);
    let pack = pool.to_packed().unwrap();
    let mut idx = vec![0u8, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28];
    idx.extend(pool.images()[0].pixels());
    idx.extend(pool.images()[1].pixels());
    let dir = tempfile::tempdir().unwrap();
    let mut rng = ChaCha20Rng::from_seed([3; 32]);
    for i in 0..3_000 {
        let base = if i % 2 == 0 { &pack } else { &idx };
        let mut b = base.clone();
        match rng.random_range(0..3) {
            0 => b.truncate(rng.random_range(0..b.len())),
            1 => {
                for _ in 0..rng.random_range(1..8) {
                    let at = rng.random_range(0..b.len());
                    b[at] = rng.random();
                }
            }
            _ => {
                let at = rng.random_range(0..b.len());
                b.splice(
                    at..at,
                    (0..rng.random_range(1..16)).map(|_| rng.random::<u8>()),
                );
            }
        }
        if i % 2 == 0 {
            let _ = PublicPool::from_packed(&b);
        } else {
            let p = dir.path().join("m-idx3-ubyte");
            std::fs::write(&p, &b).unwrap();
            let _ = PublicPool::load(&p);
        }
    }
}

#[test]
fn keys_never_show_their_contents() {
    let enc = Encryptor::new(fm(), &common::model_sized_corpus(2), BackendChoice::Cpu).unwrap();
    assert_eq!(
        format!("{:?}", enc.new_key().unwrap()),
        "OneTimeKey { <redacted> }"
    );
    assert_eq!(
        format!(
            "{:#?}",
            OneTimeKey::insecure_from_seed([1; 32], &enc).unwrap()
        ),
        "OneTimeKey { <redacted> }"
    );
}

/// An 8-bit RGB PNG that claims `w` x `h` and carries one empty data chunk.
fn png_header(w: u32, h: u32) -> Vec<u8> {
    let chunk = |png: &mut Vec<u8>, kind: &[u8], data: &[u8]| {
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        let mut crc = flate2::Crc::new();
        crc.update(&body);
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        png.extend_from_slice(&body);
        png.extend_from_slice(&crc.sum().to_be_bytes());
    };
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(
        &mut png,
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    chunk(&mut png, b"IEND", &[]);
    png
}
