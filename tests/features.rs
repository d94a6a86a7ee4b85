//! What each feature set of the device library offers: without `gpu` every
//! encryptor runs on the CPU and says why.

use edgehide::{Backend, BackendChoice, Encryptor, ModelSpec, PublicPool};

#[cfg(not(feature = "gpu"))]
#[test]
fn without_the_gpu_feature_auto_uses_the_cpu_and_gpu_is_refused() {
    let pool = PublicPool::bundled().unwrap();
    let auto = Encryptor::new(ModelSpec::fashion_mnist(), &pool, BackendChoice::Auto).unwrap();
    assert_eq!(auto.backend(), Backend::Cpu);
    assert!(
        auto.fallback_reason()
            .is_some_and(|why| why.contains("gpu")),
        "{:?}",
        auto.fallback_reason()
    );
    let gpu = Encryptor::new(ModelSpec::fashion_mnist(), &pool, BackendChoice::Gpu);
    assert!(matches!(gpu, Err(edgehide::Error::NoGpu(_))), "{gpu:?}");
}

#[test]
fn the_cpu_backend_is_there_in_every_build() {
    let pool = PublicPool::bundled().unwrap();
    let enc = Encryptor::new(ModelSpec::fashion_mnist(), &pool, BackendChoice::Cpu).unwrap();
    assert_eq!(enc.backend(), Backend::Cpu);
    assert_eq!(enc.fallback_reason(), None);
    let x = edgehide::PlainTensor::new(enc.spec().geometry(), vec![0.5; 784]).unwrap();
    let e = enc.encrypt_fresh(&x).unwrap();
    assert_eq!(e.shape(), [1, 28, 28]);
    assert!(e.data().iter().all(|v| v.is_finite()));
}
