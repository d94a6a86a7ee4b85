//! What several subcommands share: corpus and model loading, argument
//! checks, progress bars.

use std::path::Path;

use anyhow::{Result, bail};
use edgehide::{ModelSpec, PublicPool};
use edgehide_lab::dataset::Split;
use edgehide_server::Model;

/// The corpus at `path`, or the bundled one.
pub fn load_pool(path: Option<&Path>) -> Result<PublicPool> {
    Ok(match path {
        Some(p) => PublicPool::load(p)?,
        None => PublicPool::bundled()?,
    })
}

/// An ONNX model and its sidecar (the same path with `.json`), on the ONNX
/// Runtime that the set-up installed.
pub fn load_model(onnx: &Path) -> Result<Model> {
    let runtime = edgehide_lab::paths::load_runtime()?;
    Ok(Model::load(runtime, onnx, None)?)
}

/// A duration in seconds from a command-line flag.
pub fn duration(seconds: f64, what: &str) -> Result<std::time::Duration> {
    std::time::Duration::try_from_secs_f64(seconds)
        .map_err(|_| anyhow::anyhow!("{what} must be a non-negative number, got {seconds}"))
}

/// The spec with k replaced, when `--k` was given.
pub fn with_k(spec: ModelSpec, k: Option<usize>) -> Result<ModelSpec> {
    Ok(match k {
        Some(k) => spec.with_params(spec.params().with_k(k)?)?,
        None => spec,
    })
}

/// `train` or `test`.
pub fn parse_split(split: &str) -> Result<Split> {
    Ok(match split {
        "train" => Split::Train,
        "test" => Split::Test,
        other => bail!("unknown split {other:?} (train or test)"),
    })
}

/// A progress bar on stderr (hidden when stderr is not a terminal).
pub fn progress_bar(n: usize) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(n as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} frames, {per_sec}, eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}
