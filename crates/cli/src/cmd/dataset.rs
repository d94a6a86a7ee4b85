//! `edgehide dataset`: labelled datasets encrypted for training.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use edgehide::{BackendChoice, DisguiseKey, DisguiseParams, Encryptor, ModelSpec, Preprocessor};
use edgehide_lab::dataset::{self, DatasetName};
use edgehide_lab::npy;

use crate::common::{encryptor, parse_split, progress_bar, with_k};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Encrypt every image of a split with a fresh key each; writes x.npy
    /// (N x C x H x W float32) and y.npy (N uint8 labels). Run once per epoch
    /// for fresh encryptions.
    Encrypt {
        /// fashion-mnist or mnist.
        #[arg(long, default_value = "fashion-mnist")]
        dataset: DatasetName,
        /// Folder with the IDX files (default: Debian's location).
        #[arg(long)]
        dir: Option<PathBuf>,
        #[arg(long, default_value = "train")]
        split: String,
        /// Model sidecar (default: the built-in Fashion-MNIST spec).
        #[arg(long)]
        spec: Option<PathBuf>,
        /// Public corpus (default: the bundled photos).
        #[arg(long)]
        pool: Option<PathBuf>,
        /// Encrypt with --pool even when the sidecar names another corpus
        /// (an attacker simulating with a corpus of its own).
        #[arg(long, requires = "pool")]
        any_pool: bool,
        /// The deployment key of a DisguisedNets model (its key file).
        #[arg(long, conflicts_with = "attacker_keys")]
        key: Option<PathBuf>,
        /// DisguisedNets: disguise every frame with a key of its own, drawn
        /// fresh (an attacker simulating without the deployment's key).
        #[arg(long)]
        attacker_keys: bool,
        #[arg(long)]
        k: Option<usize>,
        /// Keep only the first N images.
        #[arg(long)]
        limit: Option<usize>,
        #[arg(long, default_value = "auto")]
        backend: BackendChoice,
        /// Write the preprocessed frames unencrypted (for the plaintext
        /// baseline model only).
        #[arg(long)]
        plain: bool,
        #[arg(long)]
        out: PathBuf,
    },
}

pub fn run(command: Command) -> Result<()> {
    let Command::Encrypt {
        dataset,
        dir,
        split,
        spec,
        pool,
        any_pool,
        key,
        attacker_keys,
        k,
        limit,
        backend,
        plain,
        out,
    } = command;
    let split = parse_split(&split)?;
    let mut spec = match spec {
        Some(p) => ModelSpec::from_json_file(&p)?,
        None => dataset.spec(),
    };
    spec = with_k(spec, k)?;
    if any_pool {
        spec = spec.with_pool_fingerprint(None);
    }
    let data = dataset::load(dataset, dir.as_deref(), split)?;
    if attacker_keys {
        return attacker_disguises(spec, &data, limit, &out);
    }
    // Plain frames need neither corpus nor key.
    let enc = if plain {
        None
    } else {
        let enc = encryptor(spec.clone(), pool.as_deref(), key.as_deref(), backend)?;
        eprintln!("backend: {}", enc.backend());
        Some(enc)
    };
    encrypt_dataset(&spec, enc.as_ref(), &data, limit, &out)
}

/// Streams a split's encryptions to `out/x.npy` and its labels to `out/y.npy`.
/// Without an encryptor, the preprocessed frames themselves.
fn encrypt_dataset(
    spec: &ModelSpec,
    enc: Option<&Encryptor>,
    data: &dataset::Dataset,
    limit: Option<usize>,
    out: &Path,
) -> Result<()> {
    const CHUNK: usize = 1024;
    let n = limit.unwrap_or(usize::MAX).min(data.images.len());
    let g = spec.geometry();
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let mut xs =
        npy::NpyStream::<f32>::create(&out.join("x.npy"), &[n, g.channels, g.height, g.width])?;
    let bar = progress_bar(n);
    let mut pre = Preprocessor::new(spec);
    for start in (0..n).step_by(CHUNK) {
        let end = (start + CHUNK).min(n);
        let frames = data.preprocess(start..end, &mut pre)?;
        match enc {
            None => {
                for x in &frames {
                    xs.extend(x.data().iter().copied())?;
                }
            }
            Some(enc) => {
                for e in enc.encrypt_batch_fresh(&frames)? {
                    xs.extend(e.into_data())?;
                }
            }
        }
        bar.set_position(end as u64);
    }
    xs.finish()?;
    bar.finish_and_clear();
    npy::write(&out.join("y.npy"), &[n], data.labels[..n].iter().copied())?;
    println!("wrote {n} encryptions to {} (x.npy, y.npy)", out.display());
    Ok(())
}

/// Every frame disguised with a fresh DisguisedNets key of its own.
fn attacker_disguises(
    spec: ModelSpec,
    data: &dataset::Dataset,
    limit: Option<usize>,
    out: &Path,
) -> Result<()> {
    let Some(d) = spec.disguise().cloned() else {
        anyhow::bail!("--attacker-keys is for DisguisedNets models");
    };
    let spec = spec.with_disguise(DisguiseParams { key_id: None, ..d })?;
    let n = limit.unwrap_or(usize::MAX).min(data.images.len());
    let g = spec.geometry();
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let mut xs =
        npy::NpyStream::<f32>::create(&out.join("x.npy"), &[n, g.channels, g.height, g.width])?;
    let bar = progress_bar(n);
    let mut pre = Preprocessor::new(&spec);
    for i in 0..n {
        let key = DisguiseKey::generate(spec.disguise().map_or(0, |d| d.block), g)?;
        let enc = Encryptor::with_key(spec.clone(), key, BackendChoice::Cpu)?;
        let x = data.preprocess(i..i + 1, &mut pre)?;
        xs.extend(enc.encrypt_fresh(&x[0])?.into_data())?;
        bar.set_position(i as u64 + 1);
    }
    xs.finish()?;
    bar.finish_and_clear();
    npy::write(&out.join("y.npy"), &[n], data.labels[..n].iter().copied())?;
    println!(
        "wrote {n} disguises, one key each, to {} (x.npy, y.npy)",
        out.display()
    );
    Ok(())
}
