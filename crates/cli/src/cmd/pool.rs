//! `edgehide pool`: build and inspect public corpora.

use std::path::PathBuf;

use anyhow::Result;
use edgehide::{BackendChoice, Encryptor, ModelSpec, PoolImage, PublicPool};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Pack a folder of images or an IDX file into a pool file.
    Build {
        /// A folder of PNG/JPEG images, or an IDX file (optionally gzipped).
        input: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// Downscale so that each image's shorter side is at most this.
        #[arg(long)]
        max_side: Option<u32>,
        /// Convert to grey.
        #[arg(long)]
        gray: bool,
        /// Keep only the first N images (after --skip).
        #[arg(long)]
        limit: Option<usize>,
        /// Leave out the first N images (with --limit: disjoint parts of
        /// one corpus).
        #[arg(long, default_value_t = 0)]
        skip: usize,
    },
    /// Cut N model-sized images once from a corpus with the keyed transform
    /// (the fixed pre-cut pool design, kept only to measure what keyed crops
    /// add; use it with a sidecar made by `spec --max-shift 0 --no-flip`).
    /// Run by edgehide-lab (`edgehide pool precut --help` shows its options).
    #[command(disable_help_flag = true)]
    Precut {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
    /// Print a corpus's size, effective size and fingerprint.
    Info {
        /// Default: the bundled corpus.
        pool: Option<PathBuf>,
        /// Model sidecar whose geometry and parameters the effective size uses
        /// (default: Fashion-MNIST, k=4).
        #[arg(long)]
        spec: Option<PathBuf>,
    },
}

pub fn run(command: Command) -> Result<()> {
    match command {
        Command::Build {
            input,
            out,
            max_side,
            gray,
            limit,
            skip,
        } => build(input, out, max_side, gray, limit, skip),
        Command::Precut { .. } => unreachable!("forwarded to edgehide-lab"),
        Command::Info { pool, spec } => info(pool, spec),
    }
}

fn build(
    input: PathBuf,
    out: PathBuf,
    max_side: Option<u32>,
    gray: bool,
    limit: Option<usize>,
    skip: usize,
) -> Result<()> {
    let pool = PublicPool::load(&input)?;
    let mut images: Vec<PoolImage> = pool.images().iter().skip(skip).cloned().collect();
    if images.is_empty() {
        anyhow::bail!("--skip {skip} leaves none of the {} images", pool.len());
    }
    if let Some(n) = limit {
        images.truncate(n);
    }
    let images = images
        .into_iter()
        .map(|img| {
            let img = if let Some(s) = max_side {
                img.downscaled(s)?
            } else {
                img
            };
            Ok(if gray { img.to_gray() } else { img })
        })
        .collect::<edgehide::Result<Vec<_>>>()?;
    let pool = PublicPool::from_images(images)?;
    pool.write_packed(&out)?;
    let bytes = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    println!(
        "wrote {} ({} images, {bytes} bytes, {})",
        out.display(),
        pool.len(),
        pool.fingerprint_hex()
    );
    Ok(())
}

fn info(pool: Option<PathBuf>, spec: Option<PathBuf>) -> Result<()> {
    let pool = PublicPool::load_or_bundled(pool.as_deref())?;
    let spec = match spec {
        Some(p) => ModelSpec::from_json_file(&p)?,
        None => ModelSpec::fashion_mnist(),
    };
    let g = spec.geometry();
    pool.check_for(g)?;
    // The corpus's size as a key would draw from it, whatever corpus the
    // sidecar names.
    let enc = Encryptor::new(
        spec.clone().with_pool_fingerprint(None),
        &pool,
        BackendChoice::Cpu,
    )?;
    let log2 = enc.effective_pool_log2();
    let k = spec.params().k();
    println!("images (M): {}", pool.len());
    println!("fingerprint: {}", pool.fingerprint_hex());
    println!("model geometry: {}x{}x{}", g.channels, g.height, g.width);
    println!("distinguishable public images per slot: 2^{log2:.1}");
    println!(
        "public-slot combinations per key (k={k}): 2^{:.1}",
        log2 * (k - 1) as f64
    );
    Ok(())
}
