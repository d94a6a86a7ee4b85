//! What several subcommands share: corpus and model loading, argument
//! checks, progress bars.

use std::path::Path;

use anyhow::{Context, Result, bail};
use edgehide::{BackendChoice, DisguiseKey, Encryptor, ModelSpec, PublicPool, Scheme};
use edgehide_lab::dataset::{DatasetName, Split};
pub use edgehide_lab::progress::bar as progress_bar;
use edgehide_server::Model;

/// The default Fashion-MNIST model, chosen by the rule in
/// docs/PRIVACY_UTILITY.md (the least leak under the strongest attack among
/// settings within 10 points of plaintext accuracy).
pub const DEFAULT_MODEL: &str = "models/fashion-mnist-k8-digits.onnx";

/// The default MNIST model, chosen by the same rule.
pub const DEFAULT_MNIST_MODEL: &str = "models/mnist-k4.onnx";

/// The default model for `dataset`.
pub fn default_model(dataset: DatasetName) -> Result<&'static Path> {
    Ok(Path::new(match dataset {
        DatasetName::FashionMnist => DEFAULT_MODEL,
        DatasetName::Mnist => DEFAULT_MNIST_MODEL,
        other => bail!("no default model for {other}: give --model"),
    }))
}

/// Refuses to score `spec`'s model on `dataset` when the model was made for
/// other classes (a Fashion-MNIST model on MNIST digits scores near chance
/// and says nothing). A sidecar without labels is not checked.
pub fn check_labels(spec: &ModelSpec, dataset: DatasetName) -> Result<()> {
    let want = dataset.spec();
    if !spec.labels().is_empty() && spec.labels() != want.labels() {
        bail!(
            "model {} classifies {:?}, not the classes of {dataset} ({:?}); give --model for {dataset}",
            spec.name(),
            spec.labels().iter().take(3).collect::<Vec<_>>(),
            want.labels().iter().take(3).collect::<Vec<_>>(),
        );
    }
    Ok(())
}

/// An encryptor for `spec`: with the corpus at `pool` (default: the
/// bundled one) for InstaHide, with the deployment key at `key` for
/// DisguisedNets.
pub fn encryptor(
    spec: ModelSpec,
    pool: Option<&Path>,
    key: Option<&Path>,
    backend: BackendChoice,
) -> Result<Encryptor> {
    Ok(match (spec.scheme(), key) {
        (Scheme::DisguisedNets, Some(key)) => {
            Encryptor::with_key(spec, DisguiseKey::from_file(key)?, backend)?
        }
        (Scheme::DisguisedNets, None) => bail!(
            "model {} uses DisguisedNets: give its deployment key with --key FILE",
            spec.name()
        ),
        (_, Some(_)) => bail!(
            "--key is for DisguisedNets models; {} uses {}",
            spec.name(),
            spec.scheme()
        ),
        _ => Encryptor::new(spec.clone(), &corpus(&spec, pool)?, backend)?,
    })
}

/// The corpus at `pool`; without one, the installed corpus the sidecar
/// names (the bundled photos when it names none).
pub fn corpus(spec: &ModelSpec, pool: Option<&Path>) -> Result<PublicPool> {
    match (pool, spec.pool_fingerprint()) {
        (None, Some(fingerprint)) => edgehide_lab::dataset::installed_corpus(fingerprint)
            .with_context(|| {
                format!(
                    "model {} was trained with corpus {fingerprint}, which is not installed: \
                     run scripts/install-deps.sh (MNIST digits) or give it with --pool",
                    spec.name()
                )
            }),
        _ => Ok(PublicPool::load_or_bundled(pool)?),
    }
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
