//! The attack toolkit: SSIM against scikit-image's own values, the
//! label-only baseline, the direction of the averaging attack, and the
//! randomness claims (fresh masks and fresh crops for every encryption).

use std::path::Path;

use edgehide::{BackendChoice, Encryptor, ModelSpec, PlainTensor, PublicPool};
use edgehide_lab::attack::{self, AveragingOptions, Summary, baseline, ssim::ssim};
use edgehide_lab::dataset::{self, Split};

#[test]
fn ssim_equals_scikit_image() {
    let path = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/data/ssim-known.json"
    ));
    let known: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cases = known["cases"].as_array().unwrap();
    assert!(cases.len() >= 5);
    for case in cases {
        let v = |k: &str| -> Vec<f32> {
            case[k]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect()
        };
        let (w, h) = (
            case["width"].as_u64().unwrap() as usize,
            case["height"].as_u64().unwrap() as usize,
        );
        let got = ssim(&v("a"), &v("b"), w, h, 1.0).unwrap();
        let want = case["ssim"].as_f64().unwrap();
        // Inputs are stored as f32 here, f64 in scikit-image.
        assert!(
            (got - want).abs() < 1e-5,
            "{}: {got} vs {want}",
            case["name"]
        );
    }
}

#[test]
fn label_only_baseline_is_far_from_perfect_and_far_from_nothing() {
    let train = dataset::fashion_mnist(None, Split::Train).unwrap();
    let test = dataset::fashion_mnist(None, Split::Test).unwrap();
    let (mean, random) = baseline::label_only(&train, &test, 300);
    let (m, r) = (Summary::of(&mean), Summary::of(&random));
    assert!(m.mean > 0.25 && m.mean < 0.6, "class mean {m}");
    assert!(r.mean > 0.1 && r.mean < m.mean, "random same class {r}");
}

/// Averaging T encryptions of one frame leaks more than one encryption:
/// the reason the client never sends a frame twice (and the video budget).
#[test]
fn averaging_many_encryptions_recovers_more_than_one() {
    let spec = ModelSpec::fashion_mnist();
    let enc = Encryptor::new(spec, &PublicPool::bundled().unwrap(), BackendChoice::Cpu).unwrap();
    let train = dataset::fashion_mnist(None, Split::Train).unwrap();
    let test = dataset::fashion_mnist(None, Split::Test).unwrap();
    let opts = AveragingOptions {
        ts: vec![1, 50],
        calibration: 400,
        frames: 60,
    };
    let r = attack::averaging_attack(&enc, &enc, &train, &test, &opts, |_, _| {}).unwrap();
    assert_eq!(r[0].t, 1);
    assert!(
        r[1].calibrated.mean > r[0].calibrated.mean + 0.15,
        "T=1 {} vs T=50 {}",
        r[0].calibrated,
        r[1].calibrated
    );
    assert!(r[1].threshold.mean > r[0].threshold.mean);
}

/// With k=1 and an all-positive frame, the signs of e are the mask bits:
/// two encryptions of one frame agree on about half of them and share no
/// whole 32-bit mask word beyond chance.
#[test]
fn two_encryptions_of_one_frame_share_no_mask_words() {
    let spec = ModelSpec::fashion_mnist();
    let spec = spec.with_params(spec.params().with_k(1).unwrap()).unwrap();
    let enc = Encryptor::new(
        spec.clone(),
        &PublicPool::bundled().unwrap(),
        BackendChoice::Cpu,
    )
    .unwrap();
    let x = PlainTensor::new(spec.geometry(), vec![1.0; 784]).unwrap();
    let bits =
        |e: &edgehide::Encryption| -> Vec<bool> { e.data().iter().map(|v| *v < 0.0).collect() };
    let (mut same_bits, mut total_bits, mut same_words) = (0usize, 0usize, 0usize);
    for _ in 0..2000 {
        let (a, b) = (
            bits(&enc.encrypt_fresh(&x).unwrap()),
            bits(&enc.encrypt_fresh(&x).unwrap()),
        );
        same_bits += a.iter().zip(&b).filter(|(p, q)| p == q).count();
        total_bits += a.len();
        same_words += a
            .chunks(32)
            .zip(b.chunks(32))
            .filter(|(p, q)| p == q)
            .count();
    }
    let frac = same_bits as f64 / total_bits as f64;
    // 1.568 M bit pairs: 5 standard deviations is 0.002.
    assert!((frac - 0.5).abs() < 0.002, "agreeing mask bits {frac}");
    // 2000 x 24 full words, each equal with chance 2^-32; the 16-bit tail
    // word matches with chance 2^-16, so 2000 pairs give ~0.03 by chance.
    assert!(same_words <= 1, "{same_words} identical mask words");
}

#[test]
fn two_keys_never_share_a_public_crop() {
    use edgehide::hazmat::KeyHazmat;
    let enc = Encryptor::new(
        ModelSpec::fashion_mnist(),
        &PublicPool::bundled().unwrap(),
        BackendChoice::Cpu,
    )
    .unwrap();
    let (mut same_image, mut same_crop, mut pairs) = (0usize, 0usize, 0usize);
    for _ in 0..20_000 {
        let (a, b) = (
            enc.new_key().unwrap().insecure_view(),
            enc.new_key().unwrap().insecure_view(),
        );
        for (s, t) in a.slots.iter().zip(&b.slots) {
            pairs += 1;
            same_image += (s.0 == t.0) as usize;
            same_crop += (s == t) as usize;
        }
        assert_ne!(a.mask_seed, b.mask_seed);
    }
    // 40 photos: one slot in 40 picks the same photo by chance.
    let rate = same_image as f64 / pairs as f64;
    assert!((rate - 1.0 / 40.0).abs() < 0.005, "same photo {rate}");
    // 2^28.8 crops per slot: an identical crop in 60,000 pairs is ~0.
    assert_eq!(same_crop, 0);
}

/// The known-corpus search (attack 1): against a small fixed pre-cut pool
/// at k=2 one encryption falls, and the frame comes back far above what the
/// label gives; at k=4 the same search mostly finds nothing.
#[test]
fn known_pool_search_breaks_k2_on_a_fixed_pool_and_not_k4() {
    use edgehide_lab::attack::search::{SearchOptions, precut_pool, search_attack};
    let train = dataset::fashion_mnist(None, Split::Train).unwrap();
    let test = dataset::fashion_mnist(None, Split::Test).unwrap();
    let base = ModelSpec::fashion_mnist();
    let fixed = |k: usize| {
        let params = edgehide::ParamsBuilder {
            k,
            max_shift: 0,
            flip: false,
            ..Default::default()
        }
        .build()
        .unwrap();
        base.with_params(params)
            .unwrap()
            .with_pool_fingerprint(None)
    };
    let pool = precut_pool(&PublicPool::bundled().unwrap(), &base, 200).unwrap();
    let opts = SearchOptions {
        frames: 30,
        ..Default::default()
    };
    let (mean, _) = baseline::label_only(&train, &test, 30);
    let label = Summary::of(&mean);
    let k2 = Encryptor::new(fixed(2), &pool, BackendChoice::Cpu).unwrap();
    let r2 = search_attack(&k2, &train, &test, &opts, |_| {}).unwrap();
    assert!(r2.identified >= 0.8, "k=2 identified {}", r2.identified);
    assert!(
        r2.ssim.mean > label.mean + 0.2,
        "k=2 {} vs label {}",
        r2.ssim,
        label
    );
    let k4 = Encryptor::new(fixed(4), &pool, BackendChoice::Cpu).unwrap();
    let r4 = search_attack(&k4, &train, &test, &opts, |_| {}).unwrap();
    assert!(
        r4.ssim.mean < r2.ssim.mean - 0.15,
        "k=4 {} vs k=2 {}",
        r4.ssim,
        r2.ssim
    );
}

/// Attack 2 in its per-pixel form, one encryption, no corpus knowledge: with
/// k=1 (|e| is |x|) the frame comes back far above the label baseline, and
/// a dominant private weight leaks more than the reference weights.
#[test]
fn one_encryption_decoders_follow_the_private_weight() {
    let train = dataset::fashion_mnist(None, Split::Train).unwrap();
    let test = dataset::fashion_mnist(None, Split::Test).unwrap();
    let pool = PublicPool::bundled().unwrap();
    let base = ModelSpec::fashion_mnist();
    let score = |b: edgehide::ParamsBuilder| {
        let spec = base.with_params(b.build().unwrap()).unwrap();
        let enc = Encryptor::new(spec, &pool, BackendChoice::Cpu).unwrap();
        let opts = AveragingOptions {
            ts: vec![1],
            calibration: 1500,
            frames: 80,
        };
        attack::averaging_attack(&enc, &enc, &train, &test, &opts, |_, _| {}).unwrap()[0].positional
    };
    let (mean, _) = baseline::label_only(&train, &test, 80);
    let label = Summary::of(&mean);
    let k1 = score(edgehide::ParamsBuilder {
        k: 1,
        ..Default::default()
    });
    let dominant = score(edgehide::ParamsBuilder {
        min_private_weight: Some(0.5),
        ..Default::default()
    });
    let reference = score(edgehide::ParamsBuilder::default());
    assert!(k1.mean > label.mean + 0.25, "k=1 {k1} vs label {label}");
    assert!(
        dominant.mean > reference.mean + 0.1,
        "private weight >= 0.5 {dominant} vs reference {reference}"
    );
}

/// The known-plaintext attack on DisguisedNets: a few known pairs recover a
/// fresh key well enough to rebuild unseen frames; without noise five
/// pairs are nearly exact, and noise holds the rebuild down.
#[test]
fn known_plaintext_recovers_a_disguisednets_key() {
    use edgehide::{DisguiseKey, DisguiseParams};
    use edgehide_lab::attack::known_plaintext::known_plaintext_attack;
    let train = dataset::fashion_mnist(None, Split::Train).unwrap();
    let test = dataset::fashion_mnist(None, Split::Test).unwrap();
    let base = ModelSpec::fashion_mnist();
    let open = |noise| {
        let spec = base
            .with_disguise(DisguiseParams {
                block: 4,
                noise,
                key_id: None,
            })
            .unwrap();
        let key = DisguiseKey::generate(4, base.geometry()).unwrap();
        Encryptor::with_key(spec, key, BackendChoice::Cpu).unwrap()
    };
    let clean = open(0.0);
    let rows = known_plaintext_attack(&clean, &clean, &train, &test, &[1, 5], 100).unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows[1].ssim.mean > 0.95, "{:?}", rows[1]);
    assert!(rows[0].ssim.mean < rows[1].ssim.mean, "{rows:?}");
    // Pairs from another key recover nothing useful.
    let stranger = open(0.0);
    let wrong = known_plaintext_attack(&stranger, &clean, &train, &test, &[5], 100).unwrap();
    assert!(wrong[0].ssim.mean < 0.5, "{wrong:?}");
    let noisy = open(1.0);
    let rows = known_plaintext_attack(&noisy, &noisy, &train, &test, &[20], 100).unwrap();
    assert!(rows[0].ssim.mean < 0.8, "{rows:?}");
    // An InstaHide encryptor is refused.
    let ih = Encryptor::new(base, &PublicPool::bundled().unwrap(), BackendChoice::Cpu).unwrap();
    assert!(known_plaintext_attack(&ih, &ih, &train, &test, &[1], 10).is_err());
}
