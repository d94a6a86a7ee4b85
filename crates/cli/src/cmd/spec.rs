//! `edgehide spec`: write a model sidecar.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use edgehide::{DisguiseKey, DisguiseParams, ModelSpec, PublicPool, Scheme};
use edgehide_lab::dataset::DatasetName;

/// Write a model sidecar (the dataset's geometry and normalisation with the
/// given encryption: InstaHide bound to a corpus's fingerprint, or
/// DisguisedNets bound to a deployment key's id).
#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    name: String,
    /// instahide or disguisednets.
    #[arg(long, default_value = "instahide")]
    scheme: Scheme,
    /// DisguisedNets: the block side.
    #[arg(long, default_value_t = 4)]
    block: u32,
    /// DisguisedNets: the standard deviation of the noise added to every
    /// element, in normalised units.
    #[arg(long, default_value_t = 0.0)]
    noise: f64,
    /// DisguisedNets: make a new deployment key and write it here (owner
    /// read-only; never overwritten; never sent anywhere).
    #[arg(long, conflicts_with = "key")]
    key_out: Option<PathBuf>,
    /// DisguisedNets: bind the sidecar to this existing deployment key.
    #[arg(long)]
    key: Option<PathBuf>,
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
        scheme,
        block,
        noise,
        key_out,
        key,
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
    let base = dataset.spec();
    let plain = ModelSpec::new(
        &name,
        base.geometry(),
        base.mean().to_vec(),
        base.std().to_vec(),
        params,
    )?
    .with_labels(base.labels().to_vec());
    let spec = match scheme {
        Scheme::DisguisedNets => {
            let key = match (&key_out, &key) {
                (_, Some(path)) => DisguiseKey::from_file(path)?,
                (Some(_), None) => DisguiseKey::generate(block, plain.geometry())?,
                (None, None) => {
                    bail!("a DisguisedNets sidecar needs --key-out FILE (a new key) or --key FILE")
                }
            };
            let spec = plain.with_disguise(DisguiseParams {
                block,
                noise,
                key_id: Some(key.id()),
            })?;
            if let Some(path) = &key_out {
                key.write_new(path)?;
                println!(
                    "wrote the deployment key {} to {}",
                    key.id(),
                    path.display()
                );
            }
            spec
        }
        _ => {
            let pool = PublicPool::load_or_bundled(pool.as_deref())?;
            pool.check_for(plain.geometry())?;
            plain.with_pool_fingerprint(Some(pool.fingerprint_hex()))
        }
    };
    std::fs::write(&out, spec.to_json()).with_context(|| format!("writing {}", out.display()))?;
    println!("wrote {}", out.display());
    Ok(())
}
