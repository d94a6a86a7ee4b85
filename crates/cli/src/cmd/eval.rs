//! `edgehide eval`: accuracy of a model on encryptions of a test set.

use std::path::PathBuf;

use anyhow::Result;
use edgehide::BackendChoice;
use edgehide_lab::dataset::{self, DatasetName};
use edgehide_lab::eval::{EvalOptions, Payload, evaluate};

use crate::common::{
    check_labels, default_model, encryptor, load_model, parse_split, progress_bar,
};

/// Accuracy of a model on encryptions of a test set, through the full
/// client pipeline (fresh key per image, ONNX Runtime inference).
#[derive(clap::Args)]
pub struct Args {
    /// The ONNX model; its sidecar is the same path with .json (default:
    /// the dataset's default model, models/fashion-mnist-k8-digits.onnx or
    /// models/mnist-k4.onnx).
    #[arg(long)]
    model: Option<PathBuf>,
    #[arg(long, default_value = "fashion-mnist")]
    dataset: DatasetName,
    /// Folder with the IDX files (default: Debian's location).
    #[arg(long)]
    dir: Option<PathBuf>,
    #[arg(long, default_value = "test")]
    split: String,
    #[arg(long)]
    limit: Option<usize>,
    /// Encryptions per image, predictions averaged.
    #[arg(long, default_value_t = 1)]
    t: usize,
    #[arg(long, default_value = "f32")]
    payload: Payload,
    /// Public corpus (default: the bundled photos; must be the one the
    /// sidecar names unless --any-pool).
    #[arg(long)]
    pool: Option<PathBuf>,
    /// Evaluate with a corpus other than the one the model was trained with.
    #[arg(long)]
    any_pool: bool,
    /// The deployment key of a DisguisedNets model (its key file).
    #[arg(long)]
    key: Option<PathBuf>,
    /// Send unencrypted frames (for the plaintext baseline model).
    #[arg(long)]
    plain: bool,
    #[arg(long, default_value = "auto")]
    backend: BackendChoice,
}

pub fn run(args: Args) -> Result<()> {
    let Args {
        model,
        dataset,
        dir,
        split,
        limit,
        t,
        payload,
        pool,
        any_pool,
        key,
        plain,
        backend,
    } = args;
    let split = parse_split(&split)?;
    let model = match model {
        Some(m) => load_model(&m)?,
        None => load_model(default_model(dataset)?)?,
    };
    check_labels(model.spec(), dataset)?;
    let mut spec = model.spec().clone();
    if any_pool {
        spec = spec.with_pool_fingerprint(None);
    }
    let data = dataset::load(dataset, dir.as_deref(), split)?;
    let enc = encryptor(spec, pool.as_deref(), key.as_deref(), backend)?;
    let n = limit.unwrap_or(usize::MAX).min(data.images.len());
    eprintln!(
        "model: {} | backend: {} | {n} images, t={t}, payload {payload:?}{}",
        model.spec().name(),
        enc.backend(),
        if plain { ", UNENCRYPTED" } else { "" }
    );
    let bar = progress_bar(n);
    let opts = EvalOptions {
        limit,
        t,
        payload,
        batch: 500,
        plain,
    };
    let acc = evaluate(&model, &enc, &data, opts, |done| {
        bar.set_position(done as u64)
    })?;
    bar.finish_and_clear();
    let (lo, hi) = acc.interval95();
    println!(
        "correct: {} of {} (95% interval {lo:.4} to {hi:.4})",
        acc.correct, acc.total
    );
    println!("accuracy: {:.4}", acc.value());
    Ok(())
}
