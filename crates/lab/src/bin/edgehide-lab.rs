//! The attack lab's command line: what an encryption leaks, measured.
//! `edgehide attack ...` and `edgehide pool precut` run this binary. It is
//! built with the device library's `hazmat` feature and never ships to a
//! device.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use edgehide::{BackendChoice, DisguiseKey, DisguiseParams, Encryptor, ModelSpec, PublicPool};
use edgehide_lab::dataset::{self, DatasetName, Split};

#[derive(Parser)]
#[command(
    name = "edgehide-lab",
    version,
    about = "Attacks on edgehide's own encryptions, and the tools they need"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Attacks on our own encryptions (what they leak, against what the
    /// label alone gives).
    Attack {
        #[command(subcommand)]
        command: AttackCommand,
    },
    /// Corpus tools that read the scheme's internals.
    Pool {
        #[command(subcommand)]
        command: PoolCommand,
    },
}

#[derive(Subcommand)]
enum PoolCommand {
    /// Cut N model-sized images once from a corpus with the keyed transform
    /// (the fixed pre-cut pool design, kept only to measure what keyed crops
    /// add; use it with a sidecar made by `spec --max-shift 0 --no-flip`).
    Precut {
        /// Default: the bundled corpus.
        pool: Option<PathBuf>,
        #[arg(long)]
        count: usize,
        #[arg(long)]
        out: PathBuf,
    },
}

/// What an attack command attacks: a setting, its test data, its corpus.
#[derive(clap::Args)]
struct AttackTarget {
    /// The model sidecar whose encryption is attacked.
    #[arg(long)]
    spec: PathBuf,
    #[arg(long, default_value = "fashion-mnist")]
    dataset: DatasetName,
    /// The device's corpus (default: the bundled photos).
    #[arg(long)]
    pool: Option<PathBuf>,
}

#[derive(Subcommand)]
enum AttackCommand {
    /// SSIM of decoded frames (an .npy of N x H x W float32 in [0, 1], e.g.
    /// from training/attack_decoder.py) against the first N test frames,
    /// with the label-only baseline on the same frames.
    Score {
        decoded: PathBuf,
        #[arg(long, default_value = "fashion-mnist")]
        dataset: DatasetName,
    },
    /// What the label alone gives: SSIM of the class-mean training image and
    /// of a random same-class training image against each test frame.
    Baseline {
        #[arg(long, default_value = "fashion-mnist")]
        dataset: DatasetName,
        #[arg(long, default_value_t = 10000)]
        limit: usize,
    },
    /// T encryptions of each test frame, |e| averaged, decoded without any
    /// knowledge of the corpus (calibrated on the attacker's own simulated
    /// encryptions of the training split) and by the one-line threshold.
    Average {
        #[command(flatten)]
        target: AttackTarget,
        /// The attacker's own corpus for calibration (default: the device's,
        /// the worst case).
        #[arg(long)]
        attacker_pool: Option<PathBuf>,
        /// Encryptions per frame, comma-separated.
        #[arg(long, default_value = "1,4,16,50", value_delimiter = ',')]
        t: Vec<usize>,
        /// Test frames attacked.
        #[arg(long, default_value_t = 500)]
        limit: usize,
        /// Training images the attacker simulates with.
        #[arg(long, default_value_t = 3000)]
        calibration: usize,
    },
    /// DisguisedNets: recover the key from known image/disguise pairs
    /// (least-squares orthogonal fits per block position) and undo the
    /// disguise of test frames; then the same with the device's key in the
    /// attacker's hands (every device of a deployment holds it).
    KnownPlaintext {
        /// The DisguisedNets sidecar.
        #[arg(long)]
        spec: PathBuf,
        /// The deployment key the device disguises with.
        #[arg(long)]
        key: PathBuf,
        #[arg(long, default_value = "fashion-mnist")]
        dataset: DatasetName,
        /// Known pairs, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "1,5,10,100")]
        pairs: Vec<usize>,
        /// Test frames attacked.
        #[arg(long, default_value_t = 2000)]
        limit: usize,
    },
    /// One encryption per test frame; the attacker knows the device's corpus
    /// (worst case) and searches the crop space for the public image, then
    /// removes it and resolves the signs (see crates/lab/src/attack/search.rs).
    Search {
        #[command(flatten)]
        target: AttackTarget,
        /// Test frames attacked.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Ratio between consecutive crop sides in the coarse scan.
        #[arg(long, default_value_t = 1.04)]
        scale_ratio: f64,
        /// Coarse position stride in output pixels.
        #[arg(long, default_value_t = 1.0)]
        stride: f64,
        /// Coarse candidates refined exhaustively.
        #[arg(long, default_value_t = 24)]
        keep: usize,
    },
}

fn main() {
    if let Err(e) = run(Cli::parse()) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

/// The label-only baseline on the attacked frames, the line every attack
/// table ends with.
fn print_baseline(train: &dataset::Dataset, test: &dataset::Dataset, limit: usize) {
    let (mean, _) = edgehide_lab::attack::baseline::label_only(train, test, limit);
    let b = edgehide_lab::attack::Summary::of(&mean);
    println!(
        "label-only baseline on the same frames: mean {:.3}, p90 {:.3}",
        b.mean, b.p90
    );
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Pool {
            command: PoolCommand::Precut { pool, count, out },
        } => {
            let src = PublicPool::load_or_bundled(pool.as_deref())?;
            let cut = edgehide_lab::attack::search::precut_pool(
                &src,
                &ModelSpec::fashion_mnist(),
                count,
            )?;
            cut.write_packed(&out)?;
            println!(
                "wrote {} ({} images, {})",
                out.display(),
                cut.len(),
                cut.fingerprint_hex()
            );
            Ok(())
        }
        Command::Attack {
            command: AttackCommand::Score { decoded, dataset },
        } => {
            let bytes = std::fs::read(&decoded)
                .with_context(|| format!("reading {}", decoded.display()))?;
            let npy = npyz::NpyFile::new(&bytes[..]).context("not an .npy file")?;
            let shape = npy.shape().to_vec();
            let values: Vec<f32> = npy.into_vec().context("expected float32 values")?;
            let test = dataset::load(dataset, None, Split::Test)?;
            let (w, h) = (
                test.images[0].width() as usize,
                test.images[0].height() as usize,
            );
            let n = match shape.as_slice() {
                [n, hh, ww] if *hh as usize == h && *ww as usize == w => {
                    (*n as usize).min(test.images.len())
                }
                other => bail!("expected N x {h} x {w} decoded frames, got {other:?}"),
            };
            let scores: Vec<f64> = (0..n)
                .map(|i| {
                    let truth = edgehide_lab::attack::baseline::unit_pixels(&test, i);
                    edgehide_lab::attack::ssim::ssim(
                        &values[i * w * h..(i + 1) * w * h],
                        &truth,
                        w,
                        h,
                        1.0,
                    )
                    .unwrap_or(f64::NAN)
                })
                .collect();
            println!(
                "decoded frames: SSIM {}",
                edgehide_lab::attack::Summary::of(&scores)
            );
            let train = dataset::load(dataset, None, Split::Train)?;
            let (mean, _) = edgehide_lab::attack::baseline::label_only(&train, &test, n);
            println!(
                "label-only baseline on the same frames: SSIM {}",
                edgehide_lab::attack::Summary::of(&mean)
            );
            Ok(())
        }
        Command::Attack {
            command: AttackCommand::Baseline { dataset, limit },
        } => {
            let train = dataset::load(dataset, None, Split::Train)?;
            let test = dataset::load(dataset, None, Split::Test)?;
            let (mean, random) = edgehide_lab::attack::baseline::label_only(&train, &test, limit);
            println!(
                "label only, class-mean training image: SSIM {}",
                edgehide_lab::attack::Summary::of(&mean)
            );
            println!(
                "label only, random same-class training image: SSIM {}",
                edgehide_lab::attack::Summary::of(&random)
            );
            Ok(())
        }
        Command::Attack {
            command:
                AttackCommand::Average {
                    target:
                        AttackTarget {
                            spec,
                            dataset,
                            pool,
                        },
                    attacker_pool,
                    t,
                    limit,
                    calibration,
                },
        } => {
            let spec = ModelSpec::from_json_file(&spec)?;
            let device = Encryptor::new(
                spec.clone(),
                &PublicPool::load_or_bundled(pool.as_deref())?,
                BackendChoice::Cpu,
            )?;
            let attacker = match &attacker_pool {
                Some(p) => Encryptor::new(
                    spec.clone().with_pool_fingerprint(None),
                    &PublicPool::load_or_bundled(Some(p))?,
                    BackendChoice::Cpu,
                )?,
                None => Encryptor::new(
                    spec.clone(),
                    &PublicPool::load_or_bundled(pool.as_deref())?,
                    BackendChoice::Cpu,
                )?,
            };
            let train = dataset::load(dataset, None, Split::Train)?;
            let test = dataset::load(dataset, None, Split::Test)?;
            let opts = edgehide_lab::attack::AveragingOptions {
                ts: t,
                calibration,
                frames: limit,
            };
            let bar = edgehide_lab::progress::bar(1);
            let results = edgehide_lab::attack::averaging_attack(
                &attacker,
                &device,
                &train,
                &test,
                &opts,
                |done, total| {
                    bar.set_length(total as u64);
                    bar.set_position(done as u64);
                },
            )?;
            bar.finish_and_clear();
            let p = spec.params();
            println!(
                "setting: {} | k={} upper={} private weight in [{}, {}] | attacker corpus: {}",
                spec.name(),
                p.k(),
                p.upper(),
                p.min_private_weight().map_or("-".into(), |v| v.to_string()),
                p.max_private_weight().map_or("-".into(), |v| v.to_string()),
                if attacker_pool.is_some() {
                    "its own"
                } else {
                    "the device's (worst case)"
                }
            );
            println!(
                "| T | calibrated: SSIM mean | p90 | max | per-position: mean | p90 | max | threshold: mean | p90 |"
            );
            println!("|---|---|---|---|---|---|---|---|---|");
            for r in &results {
                let (c, q, t) = (&r.calibrated, &r.positional, &r.threshold);
                println!(
                    "| {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} |",
                    r.t, c.mean, c.p90, c.max, q.mean, q.p90, q.max, t.mean, t.p90
                );
            }
            print_baseline(&train, &test, limit);
            Ok(())
        }
        Command::Attack {
            command:
                AttackCommand::KnownPlaintext {
                    spec,
                    key,
                    dataset,
                    pairs,
                    limit,
                },
        } => {
            let spec = ModelSpec::from_json_file(&spec)?;
            let open = |spec: ModelSpec| -> Result<Encryptor> {
                Ok(Encryptor::with_key(
                    spec,
                    DisguiseKey::from_file(&key)?,
                    BackendChoice::Cpu,
                )?)
            };
            let device = open(spec.clone())?;
            let d = spec
                .disguise()
                .with_context(|| format!("{} is not a DisguisedNets model", spec.name()))?
                .clone();
            // The key's holder makes noise-free pairs of its own.
            let holder = open(spec.with_disguise(DisguiseParams {
                noise: 0.0,
                ..d.clone()
            })?)?;
            let train = dataset::load(dataset, None, Split::Train)?;
            let test = dataset::load(dataset, None, Split::Test)?;
            use edgehide_lab::attack::known_plaintext::known_plaintext_attack;
            let known = known_plaintext_attack(&device, &device, &train, &test, &pairs, limit)?;
            let held = known_plaintext_attack(&holder, &device, &train, &test, &[1000], limit)?;
            println!(
                "setting: {} | DisguisedNets block {} noise {} | {} test frames",
                spec.name(),
                d.block,
                d.noise,
                limit.min(test.images.len())
            );
            println!("| attacker | pairs | SSIM mean | p90 | max |");
            println!("|---|---|---|---|---|");
            for (who, rows) in [("known plaintext", &known), ("holds the key", &held)] {
                for r in rows {
                    println!(
                        "| {who} | {} | {:.3} | {:.3} | {:.3} |",
                        r.pairs, r.ssim.mean, r.ssim.p90, r.ssim.max
                    );
                }
            }
            print_baseline(&train, &test, limit);
            Ok(())
        }
        Command::Attack {
            command:
                AttackCommand::Search {
                    target:
                        AttackTarget {
                            spec,
                            dataset,
                            pool,
                        },
                    limit,
                    scale_ratio,
                    stride,
                    keep,
                },
        } => {
            let spec = ModelSpec::from_json_file(&spec)?;
            let pool = PublicPool::load_or_bundled(pool.as_deref())?;
            let device = Encryptor::new(spec.clone(), &pool, BackendChoice::Cpu)?;
            let train = dataset::load(dataset, None, Split::Train)?;
            let test = dataset::load(dataset, None, Split::Test)?;
            let opts = edgehide_lab::attack::search::SearchOptions {
                frames: limit,
                scale_ratio,
                stride,
                keep,
                ..Default::default()
            };
            let bar = edgehide_lab::progress::bar(limit.min(test.images.len()));
            let r =
                edgehide_lab::attack::search::search_attack(&device, &train, &test, &opts, |d| {
                    bar.set_position(d as u64)
                })?;
            bar.finish_and_clear();
            let p = spec.params();
            println!(
                "setting: {} | k={} upper={} private weight in [{}, {}] | corpus: {} images, 2^{:.1} public images per slot",
                spec.name(),
                p.k(),
                p.upper(),
                p.min_private_weight().map_or("-".into(), |v| v.to_string()),
                p.max_private_weight().map_or("-".into(), |v| v.to_string()),
                pool.len(),
                device.effective_pool_log2(),
            );
            println!(
                "| frames | a crop identified | all crops identified | accepted | private-weight error | SSIM mean | p90 | max | identified frames: SSIM mean | PSNR mean dB | candidates scanned | s/frame |"
            );
            println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
            println!(
                "| {} | {:.1}% | {:.1}% | {:.1}% | {:.4} | {:.3} | {:.3} | {:.3} | {:.3} | {:.1} | 2^{:.1} | {:.2} |",
                r.ssim.n,
                100.0 * r.identified,
                100.0 * r.all_identified,
                100.0 * r.accepted,
                r.weight_error,
                r.ssim.mean,
                r.ssim.p90,
                r.ssim.max,
                r.ssim_identified.mean,
                r.psnr.mean,
                (r.candidates.max(1) as f64).log2(),
                r.seconds_per_frame,
            );
            print_baseline(&train, &test, limit);
            Ok(())
        }
    }
}
