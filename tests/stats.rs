//! Statistics of the keys: coefficients respect their bounds; image choices,
//! crop positions, crop scales and shifts are uniform over their ranges
//! (chi-square at p = 0.001, on seeded keys so the test cannot flake); mask
//! bits are balanced and OS-seeded keys never repeat.

mod common;

use std::collections::HashSet;

use edgehide::hazmat::KeyHazmat;
use edgehide::{
    BackendChoice, Encryptor, FrameRef, ModelSpec, OneTimeKey, ParamsBuilder, PixelFormat,
    PublicPool,
};
use rand::RngExt;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

fn seed(i: u64) -> [u8; 32] {
    let mut s = [7u8; 32];
    s[..8].copy_from_slice(&i.to_le_bytes());
    s
}

fn chi_square(observed: &[f64], expected: &[f64]) -> f64 {
    observed
        .iter()
        .zip(expected)
        .map(|(o, e)| (o - e).powi(2) / e)
        .sum()
}

/// Upper 0.001 critical values of chi-square by degrees of freedom.
fn critical(dof: usize) -> f64 {
    match dof {
        4 => 18.467,
        9 => 27.877,
        31 => 61.098,
        39 => 72.055,
        _ => panic!("no critical value for {dof} degrees of freedom"),
    }
}

fn deciles(us: &[f64]) -> f64 {
    let mut bins = [0f64; 10];
    for u in us {
        bins[((u * 10.0) as usize).min(9)] += 1.0;
    }
    chi_square(&bins, &[us.len() as f64 / 10.0; 10])
}

fn encryptor(pool: &PublicPool, params: ParamsBuilder) -> Encryptor {
    let spec = ModelSpec::fashion_mnist()
        .with_params(params.build().unwrap())
        .unwrap();
    Encryptor::new(spec, pool, BackendChoice::Cpu).unwrap()
}

#[test]
fn coefficients_respect_bounds() {
    let pool = common::model_sized_corpus(4);
    for (lo, hi) in [
        (None, None),
        (Some(0.3), Some(0.6)),
        (Some(0.5), None),
        (None, Some(0.2)),
    ] {
        let enc = encryptor(
            &pool,
            ParamsBuilder {
                min_private_weight: lo,
                max_private_weight: hi,
                ..Default::default()
            },
        );
        for i in 0..5_000 {
            let w = OneTimeKey::insecure_from_seed(seed(i), &enc)
                .unwrap()
                .insecure_view()
                .weights;
            assert_eq!(w.len(), 4);
            let sum: f32 = w.iter().sum();
            assert!((sum - 1.0).abs() < 1e-5, "{w:?}");
            assert!(w.iter().all(|&x| (0.0..=0.65 + 1e-6).contains(&x)), "{w:?}");
            assert!(lo.is_none_or(|lo| w[0] as f64 >= lo - 1e-6), "{w:?}");
            assert!(hi.is_none_or(|hi| w[0] as f64 <= hi + 1e-6), "{w:?}");
        }
    }
    // k = 1: the mask alone.
    let enc = encryptor(
        &pool,
        ParamsBuilder {
            k: 1,
            ..Default::default()
        },
    );
    assert_eq!(
        OneTimeKey::insecure_from_seed(seed(1), &enc)
            .unwrap()
            .insecure_view()
            .weights,
        vec![1.0]
    );
}

#[test]
fn bounds_too_tight_are_an_error_not_a_hang() {
    let pool = common::model_sized_corpus(4);
    let enc = encryptor(
        &pool,
        ParamsBuilder {
            k: 8,
            upper: 0.65,
            min_private_weight: Some(0.649),
            ..Default::default()
        },
    );
    let err = OneTimeKey::insecure_from_seed(seed(1), &enc).unwrap_err();
    assert!(
        matches!(err, edgehide::Error::CoefficientsUnsatisfiable(_)),
        "{err}"
    );
}

#[test]
fn photo_choice_crop_position_and_scale_are_uniform() {
    let pool = PublicPool::bundled().unwrap();
    let enc = encryptor(
        &pool,
        ParamsBuilder {
            k: 2,
            ..Default::default()
        },
    );
    let g = enc.spec().geometry();
    let params = *enc.spec().params();
    let mut images = vec![0f64; pool.len()];
    let (mut us_x, mut us_y, mut us_scale) = (Vec::new(), Vec::new(), Vec::new());
    let mut flips = 0usize;
    let mut v = ChaCha20Rng::from_seed([9; 32]);
    let n = 20_000;
    for i in 0..n {
        let view = OneTimeKey::insecure_from_seed(seed(i), &enc)
            .unwrap()
            .insecure_view();
        let (img, x0, y0, cw, ch, flip) = view.slots[0];
        images[img as usize] += 1.0;
        flips += flip as usize;
        let (iw, ih) = (
            pool.images()[img as usize].width(),
            pool.images()[img as usize].height(),
        );
        // Randomised probability integral transforms: exactly uniform on
        // [0, 1) when positions and sizes follow their stated laws.
        us_x.push((x0 as f64 + v.random::<f64>()) / (iw - cw + 1) as f64);
        us_y.push((y0 as f64 + v.random::<f64>()) / (ih - ch + 1) as f64);
        let fit = (iw as f64 / g.width as f64).min(ih as f64 / g.height as f64);
        let (lo, hi) = (params.min_zoom(), params.max_zoom().min(fit));
        let cdf = |z: f64| ((z.ln() - lo.ln()) / (hi.ln() - lo.ln())).clamp(0.0, 1.0);
        let (a, b) = (
            cdf(cw as f64 / g.width as f64),
            cdf((cw + 1) as f64 / g.width as f64),
        );
        us_scale.push(a + v.random::<f64>() * (b - a));
    }
    let image_chi = chi_square(&images, &vec![n as f64 / pool.len() as f64; pool.len()]);
    assert!(
        image_chi < critical(pool.len() - 1),
        "photo choice chi-square {image_chi}"
    );
    for (name, us) in [
        ("x position", &us_x),
        ("y position", &us_y),
        ("log scale", &us_scale),
    ] {
        let chi = deciles(us);
        assert!(chi < critical(9), "{name} chi-square {chi}");
    }
    let sd = (n as f64 / 4.0).sqrt();
    assert!(
        (flips as f64 - n as f64 / 2.0).abs() < 4.0 * sd,
        "flips {flips} of {n}"
    );
}

#[test]
fn shifts_of_model_sized_images_are_uniform() {
    let pool = common::model_sized_corpus(10);
    let enc = encryptor(
        &pool,
        ParamsBuilder {
            k: 2,
            max_shift: 2,
            ..Default::default()
        },
    );
    let (mut dx, mut dy) = ([0f64; 5], [0f64; 5]);
    let n = 10_000;
    for i in 0..n {
        let (_, x0, y0, cw, ch, _) = OneTimeKey::insecure_from_seed(seed(i), &enc)
            .unwrap()
            .insecure_view()
            .slots[0];
        assert_eq!((cw, ch), (28, 28));
        dx[(x0 + 2) as usize] += 1.0;
        dy[(y0 + 2) as usize] += 1.0;
    }
    for (name, bins) in [("dx", dx), ("dy", dy)] {
        let chi = chi_square(&bins, &[n as f64 / 5.0; 5]);
        assert!(chi < critical(4), "{name} chi-square {chi}: {bins:?}");
    }
}

#[test]
fn mask_bits_are_balanced_on_real_encryptions() {
    // k = 1 and an all-white frame: every mixed value is the same positive
    // number, so the output's signs are the mask bits themselves.
    let pool = common::model_sized_corpus(4);
    let enc = encryptor(
        &pool,
        ParamsBuilder {
            k: 1,
            ..Default::default()
        },
    );
    let white = vec![255u8; 28 * 28];
    let x = edgehide::hazmat::preprocess(
        &FrameRef::packed(&white, 28, 28, PixelFormat::Gray8).unwrap(),
        enc.spec(),
    )
    .unwrap();
    assert!(x.data().iter().all(|v| *v > 0.0));
    let frames = 400;
    let mut per_bit = [0f64; 32];
    let mut negative = 0usize;
    for _ in 0..frames {
        let e = enc.encrypt_fresh(&x).unwrap();
        for (n, v) in e.data().iter().enumerate() {
            assert_eq!(v.abs(), x.data()[n]);
            if v.is_sign_negative() {
                negative += 1;
                per_bit[n % 32] += 1.0;
            }
        }
    }
    let total = frames * 784;
    let sd = (total as f64 / 4.0).sqrt();
    assert!(
        (negative as f64 - total as f64 / 2.0).abs() < 4.0 * sd,
        "{negative} of {total} negative"
    );
    // Each bit position of a word is used 24.5 times per frame on average.
    let per_pos: Vec<f64> = (0..32)
        .map(|b| (0..784).filter(|n| n % 32 == b).count() as f64 * frames as f64 / 2.0)
        .collect();
    let chi = chi_square(&per_bit, &per_pos);
    assert!(chi < critical(31), "per-bit chi-square {chi}");
}

#[test]
fn a_hundred_thousand_os_keys_never_repeat_a_seed() {
    let pool = common::model_sized_corpus(4);
    let enc = encryptor(&pool, ParamsBuilder::default());
    let mut seen = HashSet::with_capacity(100_000);
    for _ in 0..100_000 {
        let seed = enc.new_key().unwrap().insecure_view().mask_seed;
        assert!(seen.insert(seed), "repeated mask seed");
    }
}
