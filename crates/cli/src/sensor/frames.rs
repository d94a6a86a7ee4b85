//! Frame sources: a folder of pictures read in name order (a video as
//! frames). A V4L2 camera source is not built: these machines have no
//! camera to test it on.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

/// The pictures of `dir` (PNG, JPEG), in name order.
pub fn folder(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg"))
        })
        .collect();
    if paths.is_empty() {
        bail!("{}: no PNG or JPEG frames", dir.display());
    }
    paths.sort();
    Ok(paths)
}
