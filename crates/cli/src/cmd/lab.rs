//! The attack lab's subcommands (`attack ...`, `pool precut`), run by the
//! `edgehide-lab` binary beside this one: they read the encryptor's internals
//! through the device library's `hazmat` feature, which the product binary
//! never carries.

use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};

/// The name of the lab's binary.
const LAB: &str = "edgehide-lab";

fn lab_binary() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("locating this executable")?;
    let dir = exe.parent().context("this executable has no folder")?;
    let lab = dir.join(format!("{LAB}{}", std::env::consts::EXE_SUFFIX));
    if !lab.is_file() {
        bail!(
            "the attack lab is a separate binary ({LAB}), not found beside {}: build it with \
             `cargo build --release -p edgehide-lab` (or without --release for a debug build)",
            exe.display()
        );
    }
    Ok(lab)
}

/// Runs `edgehide-lab` with `args` and exits with its status.
pub fn forward(args: Vec<OsString>) -> Result<()> {
    let status = std::process::Command::new(lab_binary()?)
        .args(args)
        .status()
        .with_context(|| format!("running {LAB}"))?;
    std::process::exit(status.code().unwrap_or(1));
}
