//! `edgehide spec`: write a model sidecar.

use std::path::PathBuf;

use anyhow::{Context, Result};
use edgehide::ModelSpec;
use edgehide::PublicPool;
use edgehide_lab::dataset::DatasetName;

/// Write a model sidecar (the Fashion-MNIST geometry and normalisation with
/// the given encryption parameters, bound to a corpus's fingerprint).
#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    name: String,
    /// The dataset whose geometry, normalisation and labels the model uses.
    #[arg(long, default_value = "fashion-mnist")]
    dataset: DatasetName,
    #[arg(long, default_value_t = 4)]
    k: usize,
    #[arg(long, default_value_t = 0.65)]
    upper: f64,
    #[arg(long)]
    min_private_weight: Option<f64>,
    #[arg(long)]
    max_private_weight: Option<f64>,
    /// Largest shift of model-sized corpus images (0 with --no-flip: a
    /// fixed pre-cut pool, for comparison only).
    #[arg(long, default_value_t = 2)]
    max_shift: u32,
    /// Do not mirror public images.
    #[arg(long)]
    no_flip: bool,
    /// Public corpus the model is trained with (default: the bundled photos).
    #[arg(long)]
    pool: Option<PathBuf>,
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: Args) -> Result<()> {
    let Args {
        name,
        dataset,
        k,
        upper,
        min_private_weight,
        max_private_weight,
        max_shift,
        no_flip,
        pool,
        out,
    } = args;
    let params = edgehide::ParamsBuilder {
        k,
        upper,
        min_private_weight,
        max_private_weight,
        max_shift,
        flip: !no_flip,
        ..Default::default()
    }
    .build()?;
    let pool = PublicPool::load_or_bundled(pool.as_deref())?;
    let base = dataset.spec();
    let spec = ModelSpec::new(
        &name,
        base.geometry(),
        base.mean().to_vec(),
        base.std().to_vec(),
        params,
    )?
    .with_labels(base.labels().to_vec())
    .with_pool_fingerprint(Some(pool.fingerprint_hex()));
    pool.check_for(spec.geometry())?;
    std::fs::write(&out, spec.to_json()).with_context(|| format!("writing {}", out.display()))?;
    println!("wrote {}", out.display());
    Ok(())
}
