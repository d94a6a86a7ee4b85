//! Corpora from real files: the bundled photos and an IDX dataset from
//! Debian's `dataset-fashion-mnist` (used here only to exercise the IDX
//! loader and the model-sized "shift and flip" transform; a product never
//! uses the private dataset as its public corpus).

mod common;

use edgehide::hazmat::{EncryptorHazmat, KeyHazmat};
use edgehide::{BackendChoice, Encryptor, ModelSpec, OneTimeKey, PublicPool};

const FM_TEST: &str = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";

#[test]
fn bundled_corpus_is_what_its_sources_page_says() {
    let pool = PublicPool::bundled().unwrap();
    assert_eq!(pool.len(), 40);
    let sources = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets/POOL-SOURCES.md"
    ))
    .unwrap();
    assert!(
        sources.contains(&pool.fingerprint_hex()),
        "POOL-SOURCES.md names another fingerprint"
    );
    assert!(
        pool.images()
            .iter()
            .all(|i| i.width().min(i.height()) == 240 && i.channels() == 3)
    );
    let enc = Encryptor::new(ModelSpec::fashion_mnist(), &pool, BackendChoice::Cpu).unwrap();
    let log2 = enc.effective_pool_log2();
    assert!((log2 - 28.8).abs() < 0.05, "{log2}");
}

#[test]
fn idx_dataset_loads_as_a_model_sized_corpus() {
    let pool = PublicPool::load(FM_TEST.as_ref())
        .expect("install dataset-fashion-mnist (scripts/install-deps.sh)");
    assert_eq!(pool.len(), 10_000);
    assert!(
        pool.images()
            .iter()
            .all(|i| (i.width(), i.height(), i.channels()) == (28, 28, 1))
    );
    let spec = ModelSpec::fashion_mnist();
    // 5 x 5 shifts x 2 flips per image.
    let want = (10_000f64 * 50.0).log2();
    let enc = Encryptor::new(spec.clone(), &pool, BackendChoice::Cpu).unwrap();
    assert!((enc.effective_pool_log2() - want).abs() < 1e-9);
    let x = common::synthetic_input(&spec, 28, 28);
    let key = OneTimeKey::insecure_from_seed([9; 32], &enc).unwrap();
    for (_, x0, y0, cw, ch, _) in key.insecure_view().slots {
        assert!((-2..=2).contains(&x0) && (-2..=2).contains(&y0));
        assert_eq!((cw, ch), (28, 28));
    }
    let a = enc.encrypt_reference(&x, key).unwrap();
    let b = enc
        .encrypt_cpu(&x, OneTimeKey::insecure_from_seed([9; 32], &enc).unwrap())
        .unwrap();
    assert_eq!(a.data(), b.data());
}
