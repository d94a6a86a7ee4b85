//! From a model's logits to probabilities.

/// The softmax of one frame's logits (probabilities summing to 1), computed
/// stably (the largest logit is subtracted first).
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut p: Vec<f32> = logits.iter().map(|v| (v - max).exp()).collect();
    let sum: f32 = p.iter().sum();
    p.iter_mut().for_each(|v| *v /= sum);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_is_stable_and_sums_to_one() {
        let p = softmax(&[1000.0, 1000.0, 0.0]);
        assert!((p[0] - 0.5).abs() < 1e-6 && (p[1] - 0.5).abs() < 1e-6 && p[2] < 1e-30);
        let q = softmax(&[1.0, 2.0, 3.0]);
        assert!((q.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(q[2] > q[1] && q[1] > q[0]);
    }
}
