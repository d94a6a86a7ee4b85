//! The scene budget on synthetic video: a still scene with sensor noise
//! spends its budget once and is then withheld; scene cuts and a moving
//! camera are sent again; the window refreshes the budget.

use std::time::{Duration, Instant};

use edgehide::scene::{Admission, SceneConfig, SceneGuard};
use edgehide::{FrameRef, ModelSpec, PixelFormat, PlainTensor, Preprocessor};
use edgehide_lab::dataset::{self, Split};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A 224x224 RGB camera frame of a 28x28 grey image (nearest upscale) with
/// Gaussian-ish sensor noise of about `sigma` grey levels.
fn camera_frame(img: &[u8], rng: &mut ChaCha8Rng, sigma: f32) -> Vec<u8> {
    let mut out = Vec::with_capacity(224 * 224 * 3);
    for y in 0..224 {
        for x in 0..224 {
            let v = img[(y / 8) * 28 + x / 8] as f32;
            for _ in 0..3 {
                // Sum of 4 uniforms: close enough to Gaussian for a sensor.
                let n: f32 = (0..4).map(|_| rng.random::<f32>() - 0.5).sum::<f32>() * sigma * 1.73;
                out.push((v + n).round().clamp(0.0, 255.0) as u8);
            }
        }
    }
    out
}

fn preprocess(pre: &mut Preprocessor, rgb: &[u8], w: u32, h: u32) -> PlainTensor {
    pre.run(&FrameRef::packed(rgb, w, h, PixelFormat::Rgb8).unwrap())
        .unwrap()
}

fn sends(guard: &mut SceneGuard, frames: &[PlainTensor], start: Instant) -> usize {
    frames
        .iter()
        .enumerate()
        .filter(|(i, f)| {
            // 30 frames per second.
            let now = start + Duration::from_millis(*i as u64 * 33);
            guard.admit(f, now).0 == Admission::Send
        })
        .count()
}

#[test]
fn a_still_noisy_scene_is_sent_budget_times_then_withheld() {
    let spec = ModelSpec::fashion_mnist();
    let mut pre = Preprocessor::new(&spec);
    let test = dataset::fashion_mnist(None, Split::Test).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for which in [0, 7, 42] {
        let frames: Vec<PlainTensor> = (0..90)
            .map(|_| {
                preprocess(
                    &mut pre,
                    &camera_frame(test.images[which].pixels(), &mut rng, 8.0),
                    224,
                    224,
                )
            })
            .collect();
        let start = Instant::now();
        let mut guard = SceneGuard::new(SceneConfig::default());
        assert_eq!(
            sends(&mut guard, &frames, start),
            1,
            "image {which}, budget 1"
        );
        let mut config = SceneConfig::default();
        config.budget = 3;
        assert_eq!(
            sends(&mut SceneGuard::new(config), &frames, start),
            3,
            "image {which}, budget 3"
        );
        // An hour later the budget is back.
        let later = start + Duration::from_secs(3601);
        assert_eq!(guard.admit(&frames[0], later).0, Admission::Send);
        assert_eq!(guard.admit(&frames[1], later).0, Admission::Withhold);
    }
}

#[test]
fn scene_cuts_are_sent_again() {
    let spec = ModelSpec::fashion_mnist();
    let mut pre = Preprocessor::new(&spec);
    let test = dataset::fashion_mnist(None, Split::Test).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    // 40 different items, each held for 6 noisy frames.
    let frames: Vec<PlainTensor> = (0..40)
        .flat_map(|i| (0..6).map(move |_| i))
        .map(|i| {
            preprocess(
                &mut pre,
                &camera_frame(test.images[i].pixels(), &mut rng, 8.0),
                224,
                224,
            )
        })
        .collect();
    let sent = sends(
        &mut SceneGuard::new(SceneConfig::default()),
        &frames,
        Instant::now(),
    );
    // Never more than one per item; items that look alike at 9x8 (two
    // similar shirts) may share a scene, which errs on the private side.
    assert!(sent <= 40, "{sent}");
    assert!(sent >= 30, "only {sent} of 40 scene cuts were sent");
}

#[test]
fn a_panning_camera_keeps_sending() {
    // Pan a 120 px window across the widest bundled photo, 5 px per frame:
    // 60 frames cover 2.5 window widths.
    let pool = edgehide::PublicPool::bundled().unwrap();
    let photo = pool.images().iter().max_by_key(|p| p.width()).unwrap();
    assert!(photo.width() >= 120 + 60 * 5);
    let spec = ModelSpec::fashion_mnist();
    let mut pre = Preprocessor::new(&spec);
    let c = photo.channels() as usize;
    let (pw, side) = (photo.width() as usize, 120);
    let frames: Vec<PlainTensor> = (0..60)
        .map(|i| {
            let x0 = i * 5;
            let mut rgb = Vec::with_capacity(side * side * 3);
            for y in 0..side {
                for x in x0..x0 + side {
                    for ch in 0..3 {
                        rgb.push(photo.pixels()[(y * pw + x) * c + ch.min(c - 1)]);
                    }
                }
            }
            preprocess(&mut pre, &rgb, side as u32, side as u32)
        })
        .collect();
    let sent = sends(
        &mut SceneGuard::new(SceneConfig::default()),
        &frames,
        Instant::now(),
    );
    assert!(sent >= 3, "a moving camera sent only {sent} of 60 frames");
    assert!(sent < 60, "every frame of a slow pan was a new scene");
}
