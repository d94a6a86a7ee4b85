//! `edgehide encrypt`: encrypt image files, one fresh key each.

use std::path::PathBuf;

use anyhow::{Context, Result};
use edgehide::{
    BackendChoice, Encryptor, FrameRef, ModelSpec, PixelFormat, Preprocessor, PublicPool,
};

use crate::common::with_k;

/// Encrypt images with a fresh one-time key each; writes one float32 .npy
/// (C x H x W) per image. Keys are never written.
#[derive(clap::Args)]
pub struct Args {
    /// The model's JSON sidecar (geometry, normalisation, encryption parameters).
    #[arg(long)]
    spec: PathBuf,
    /// Public corpus: a packed pool file, an IDX file or a folder of images
    /// (default: the bundled photo corpus).
    #[arg(long)]
    pool: Option<PathBuf>,
    /// Override k (images per encryption, 1..=8).
    #[arg(long)]
    k: Option<usize>,
    #[arg(long, default_value = "auto")]
    backend: BackendChoice,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
    #[arg(required = true)]
    images: Vec<PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    let Args {
        spec,
        pool,
        k,
        backend,
        out,
        images,
    } = args;
    let mut spec = ModelSpec::from_json_file(&spec)?;
    spec = with_k(spec, k)?;
    let pool = PublicPool::load_or_bundled(pool.as_deref())?;
    let enc = Encryptor::new(spec, &pool, backend)?;
    eprintln!("backend: {}", enc.backend());
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let mut pre = Preprocessor::new(enc.spec());
    // One output per input: two inputs with one file stem would overwrite.
    let mut stems = std::collections::HashSet::new();
    for path in &images {
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("frame");
        if !stems.insert(stem) {
            anyhow::bail!(
                "two images would be written to {}: rename one",
                out.join(format!("{stem}.npy")).display()
            );
        }
    }
    for path in &images {
        let (rgb, w, h) = edgehide::load_image_file(path, &enc.spec().geometry())?;
        let x = pre.run(&FrameRef::packed(&rgb, w, h, PixelFormat::Rgb8)?)?;
        let e = enc.encrypt_fresh(&x)?;
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("frame");
        let dest = out.join(format!("{stem}.npy"));
        edgehide_lab::npy::write_encryption(&dest, &e)?;
        println!("{} -> {}", path.display(), dest.display());
    }
    Ok(())
}
