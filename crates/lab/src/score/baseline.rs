//! What an attacker learns from the label alone: the server learns the
//! class anyway, so an attack only matters where it beats the class-mean
//! training image (and a random training image of the same class).

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::ssim::ssim;
use crate::dataset::Dataset;

/// An image's pixels scaled to [0, 1].
pub fn unit_pixels(data: &Dataset, i: usize) -> Vec<f32> {
    data.images[i]
        .pixels()
        .iter()
        .map(|&p| p as f32 / 255.0)
        .collect()
}

/// The mean training image of each class, in [0, 1].
pub fn class_means(train: &Dataset) -> Vec<Vec<f32>> {
    let classes = train
        .labels
        .iter()
        .map(|&l| l as usize + 1)
        .max()
        .unwrap_or(0);
    let len = train.images.first().map(|i| i.pixels().len()).unwrap_or(0);
    let mut sums = vec![vec![0f64; len]; classes];
    let mut counts = vec![0usize; classes];
    for (img, &l) in train.images.iter().zip(&train.labels) {
        counts[l as usize] += 1;
        for (s, &p) in sums[l as usize].iter_mut().zip(img.pixels()) {
            *s += p as f64 / 255.0;
        }
    }
    sums.into_iter()
        .zip(counts)
        .map(|(s, c)| {
            s.into_iter()
                .map(|v| (v / c.max(1) as f64) as f32)
                .collect()
        })
        .collect()
}

/// Per test image (the first `n`): SSIM of its class mean, and of a random
/// training image of its class (fixed seed: experiments are reproducible;
/// nothing here is a key).
pub fn label_only(train: &Dataset, test: &Dataset, n: usize) -> (Vec<f64>, Vec<f64>) {
    let means = class_means(train);
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); means.len()];
    for (i, &l) in train.labels.iter().enumerate() {
        by_class[l as usize].push(i);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let (w, h) = (
        test.images[0].width() as usize,
        test.images[0].height() as usize,
    );
    let mut mean_scores = Vec::with_capacity(n);
    let mut random_scores = Vec::with_capacity(n);
    for i in 0..n.min(test.images.len()) {
        let x = unit_pixels(test, i);
        let l = test.labels[i] as usize;
        mean_scores.push(ssim(&means[l], &x, w, h, 1.0).unwrap_or(f64::NAN));
        let pick = by_class[l][rng.random_range(0..by_class[l].len())];
        random_scores.push(ssim(&unit_pixels(train, pick), &x, w, h, 1.0).unwrap_or(f64::NAN));
    }
    (mean_scores, random_scores)
}
