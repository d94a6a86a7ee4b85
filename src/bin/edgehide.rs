//! The edgehide command line: a thin layer over the library.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use edgehide::dataset::{self, DatasetName, Split};
use edgehide::{
    BackendChoice, Encryptor, FrameRef, ModelSpec, PixelFormat, PoolImage, Preprocessor, PublicPool,
};

#[derive(Parser)]
#[command(
    name = "edgehide",
    version,
    about = "One-time-key InstaHide encryption for private cloud image classification"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Encrypt images with a fresh one-time key each; writes one float32 .npy
    /// (C x H x W) per image. Keys are never written.
    Encrypt {
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
    },
    /// Build or inspect public corpora.
    Pool {
        #[command(subcommand)]
        command: PoolCommand,
    },
    /// Labelled datasets: encrypt a split for training or evaluation.
    Dataset {
        #[command(subcommand)]
        command: DatasetCommand,
    },
    /// Write a model sidecar (the Fashion-MNIST geometry and normalisation with
    /// the given encryption parameters, bound to a corpus's fingerprint).
    Spec {
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
    },
    /// Accuracy of a model on encryptions of a test set, through the full
    /// client pipeline (fresh key per image, ONNX Runtime inference).
    Eval {
        /// The ONNX model; its sidecar is the same path with .json.
        #[arg(long)]
        model: PathBuf,
        #[arg(long, default_value = "fashion-mnist")]
        dataset: DatasetName,
        /// Folder with the IDX files (default: Debian's location).
        #[arg(long)]
        dir: Option<PathBuf>,
        #[arg(long, default_value = "test")]
        split: String,
        #[arg(long)]
        limit: Option<usize>,
        /// Encryptions per image, predictions averaged.
        #[arg(long, default_value_t = 1)]
        t: usize,
        #[arg(long, default_value = "f32")]
        payload: edgehide::eval::Payload,
        /// Public corpus (default: the bundled photos; must be the one the
        /// sidecar names unless --any-pool).
        #[arg(long)]
        pool: Option<PathBuf>,
        /// Evaluate with a corpus other than the one the model was trained with.
        #[arg(long)]
        any_pool: bool,
        /// Send unencrypted frames (for the plaintext baseline model).
        #[arg(long)]
        plain: bool,
        #[arg(long, default_value = "auto")]
        backend: BackendChoice,
    },
    /// Serve models over the Open Inference Protocol (KServe v2 REST) with
    /// dynamic batching, until SIGTERM or Ctrl-C.
    Serve {
        /// An ONNX model (its sidecar is the same path with .json); repeat for
        /// more. Each is served under its sidecar's name.
        #[arg(long = "model", required = true)]
        models: Vec<PathBuf>,
        #[arg(long, default_value = "127.0.0.1:8000")]
        addr: std::net::SocketAddr,
        /// Frames per inference; 1 turns batching off.
        #[arg(long, default_value_t = 64)]
        max_batch: usize,
        /// How long a request may wait for others to share its batch (0: none;
        /// requests that queue while a batch runs still share the next one).
        #[arg(long, default_value_t = 0.0)]
        max_delay_ms: f64,
        /// Requests waiting per model before answering 503.
        #[arg(long, default_value_t = 1024)]
        queue: usize,
        /// Largest request body, in MiB.
        #[arg(long, default_value_t = 16)]
        max_body_mib: usize,
        /// Seconds before a request is answered 504.
        #[arg(long, default_value_t = 30.0)]
        timeout_s: f64,
    },
    /// Attacks on our own encryptions (what they leak, against what the
    /// label alone gives).
    Attack {
        #[command(subcommand)]
        command: AttackCommand,
    },
    /// Show the backend an encryptor would use here.
    Info,
    /// The end-to-end demo on the embedded defaults (bundled corpus,
    /// Fashion-MNIST geometry): encrypt frames and picture what leaves the device.
    Demo {
        /// Images to encrypt (any size, PNG/JPEG); default: Fashion-MNIST test images.
        images: Vec<PathBuf>,
        /// How many Fashion-MNIST test images when no image is given.
        #[arg(long, default_value_t = 16)]
        n: usize,
        #[arg(long, default_value = "auto")]
        backend: BackendChoice,
        /// Output folder for the pictures.
        #[arg(long, default_value = "demo-out")]
        out: PathBuf,
        /// The classifier (its sidecar sets the encryption parameters).
        #[arg(long, default_value = "models/fashion-mnist-k4.onnx")]
        model: PathBuf,
    },
}

#[derive(Subcommand)]
enum DatasetCommand {
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
    /// One encryption per test frame; the attacker knows the device's corpus
    /// (worst case) and searches the crop space for the public image, then
    /// removes it and resolves the signs (see src/attack/search.rs).
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

#[derive(Subcommand)]
enum PoolCommand {
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
        /// Keep only the first N images.
        #[arg(long)]
        limit: Option<usize>,
    },
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

fn main() {
    // Die quietly on a closed stdout (`edgehide pool info | head -1`), as
    // Unix tools do, instead of panicking inside println!.
    #[cfg(unix)]
    // SAFETY: restoring a signal's default disposition, before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // Mesa's software Vulkan driver prints a scary "XDG_RUNTIME_DIR is invalid"
    // on headless machines; it needs no display here, so give it a directory.
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        // SAFETY: first statement of main, before any other thread exists.
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir()) };
    }
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    if let Err(e) = run(Cli::parse()) {
        eprintln!("error: {e:#}");
        let code = e
            .downcast_ref::<edgehide::Error>()
            .map(|e| e.code())
            .unwrap_or(100);
        std::process::exit(code.min(125) as i32);
    }
}

fn load_pool(path: Option<&Path>) -> Result<PublicPool> {
    Ok(match path {
        Some(p) => PublicPool::load(p)?,
        None => PublicPool::bundled()?,
    })
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Encrypt {
            spec,
            pool,
            k,
            backend,
            out,
            images,
        } => {
            let mut spec = ModelSpec::from_json_file(&spec)?;
            spec = with_k(spec, k)?;
            let pool = load_pool(pool.as_deref())?;
            let enc = Encryptor::new(spec, &pool, backend)?;
            eprintln!("backend: {}", enc.backend());
            std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
            let mut pre = Preprocessor::new(enc.spec());
            for path in &images {
                let (rgb, w, h) = edgehide::frame::load_image_file(path)?;
                let x = pre.run(&FrameRef::packed(&rgb, w, h, PixelFormat::Rgb8)?)?;
                let e = enc.encrypt_fresh(&x)?;
                let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("frame");
                let dest = out.join(format!("{stem}.npy"));
                e.write_npy(&dest)?;
                println!("{} -> {}", path.display(), dest.display());
            }
            Ok(())
        }
        Command::Pool {
            command:
                PoolCommand::Build {
                    input,
                    out,
                    max_side,
                    gray,
                    limit,
                },
        } => {
            let pool = PublicPool::load(&input)?;
            let mut images: Vec<PoolImage> = pool.images().to_vec();
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
        Command::Pool {
            command: PoolCommand::Precut { pool, count, out },
        } => {
            let src = load_pool(pool.as_deref())?;
            let cut =
                edgehide::attack::search::precut_pool(&src, &ModelSpec::fashion_mnist(), count)?;
            cut.write_packed(&out)?;
            println!(
                "wrote {} ({} images, {})",
                out.display(),
                cut.len(),
                cut.fingerprint_hex()
            );
            Ok(())
        }
        Command::Pool {
            command: PoolCommand::Info { pool, spec },
        } => {
            let pool = load_pool(pool.as_deref())?;
            let spec = match spec {
                Some(p) => ModelSpec::from_json_file(&p)?,
                None => ModelSpec::fashion_mnist(),
            };
            let g = spec.geometry();
            pool.check_for(g)?;
            let log2 = pool.effective_log2(g, spec.params());
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
        Command::Dataset {
            command:
                DatasetCommand::Encrypt {
                    dataset,
                    dir,
                    split,
                    spec,
                    pool,
                    k,
                    limit,
                    backend,
                    plain,
                    out,
                },
        } => {
            let split = parse_split(&split)?;
            let mut spec = match spec {
                Some(p) => ModelSpec::from_json_file(&p)?,
                None => ModelSpec::for_dataset(dataset),
            };
            spec = with_k(spec, k)?;
            let data = dataset::load(dataset, dir.as_deref(), split)?;
            let enc = Encryptor::new(spec, &load_pool(pool.as_deref())?, backend)?;
            eprintln!("backend: {}", enc.backend());
            encrypt_dataset(&enc, &data, limit, plain, &out)
        }
        Command::Spec {
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
        } => {
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
            let pool = load_pool(pool.as_deref())?;
            let base = ModelSpec::for_dataset(dataset);
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
            std::fs::write(&out, spec.to_json())
                .with_context(|| format!("writing {}", out.display()))?;
            println!("wrote {}", out.display());
            Ok(())
        }
        Command::Eval {
            model,
            dataset,
            dir,
            split,
            limit,
            t,
            payload,
            pool,
            any_pool,
            plain,
            backend,
        } => {
            let split = parse_split(&split)?;
            let model = edgehide::infer::Model::load(&model, None)?;
            let mut spec = model.spec().clone();
            if any_pool {
                spec = spec.with_pool_fingerprint(None);
            }
            let data = dataset::load(dataset, dir.as_deref(), split)?;
            let enc = Encryptor::new(spec, &load_pool(pool.as_deref())?, backend)?;
            let n = limit.unwrap_or(usize::MAX).min(data.images.len());
            eprintln!(
                "model: {} | backend: {} | {n} images, t={t}, payload {payload:?}{}",
                model.spec().name(),
                enc.backend(),
                if plain { ", UNENCRYPTED" } else { "" }
            );
            let bar = progress_bar(n);
            let opts = edgehide::eval::EvalOptions {
                limit,
                t,
                payload,
                batch: 500,
                plain,
            };
            let acc = edgehide::eval::evaluate(&model, &enc, &data, opts, |done| {
                bar.set_position(done as u64)
            })?;
            bar.finish_and_clear();
            let (lo, hi) = acc.interval95();
            println!(
                "correct: {} of {} (95% interval {lo:.4} to {hi:.4})",
                acc.correct, acc.total
            );
            println!("accuracy: {:.4}", acc.value());
            Ok(())
        }
        Command::Serve {
            models,
            addr,
            max_batch,
            max_delay_ms,
            queue,
            max_body_mib,
            timeout_s,
        } => {
            let models = models
                .iter()
                .map(|m| edgehide::infer::Model::load(m, None))
                .collect::<edgehide::Result<Vec<_>>>()?;
            let mut config = edgehide::server::ServerConfig::default();
            config.max_batch = max_batch;
            config.max_delay = duration(max_delay_ms / 1e3, "--max-delay-ms")?;
            config.queue = queue;
            config.max_body_bytes = max_body_mib << 20;
            config.request_timeout = duration(timeout_s, "--timeout-s")?;
            let names: Vec<String> = models.iter().map(|m| m.spec().name().to_string()).collect();
            let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("binding {addr}"))?;
                let local = listener.local_addr()?;
                // Tests and scripts read this line for the port (--addr ...:0).
                println!("listening on http://{local} (models: {})", names.join(", "));
                use std::io::Write;
                std::io::stdout().flush()?;
                edgehide::server::serve(
                    listener,
                    models,
                    config,
                    edgehide::server::shutdown_signal(),
                )
                .await?;
                println!("stopped");
                Ok(())
            })
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
                    let truth = edgehide::attack::baseline::unit_pixels(&test, i);
                    edgehide::attack::ssim::ssim(
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
                edgehide::attack::Summary::of(&scores)
            );
            let train = dataset::load(dataset, None, Split::Train)?;
            let (mean, _) = edgehide::attack::baseline::label_only(&train, &test, n);
            println!(
                "label-only baseline on the same frames: SSIM {}",
                edgehide::attack::Summary::of(&mean)
            );
            Ok(())
        }
        Command::Attack {
            command: AttackCommand::Baseline { dataset, limit },
        } => {
            let train = dataset::load(dataset, None, Split::Train)?;
            let test = dataset::load(dataset, None, Split::Test)?;
            let (mean, random) = edgehide::attack::baseline::label_only(&train, &test, limit);
            println!(
                "label only, class-mean training image: SSIM {}",
                edgehide::attack::Summary::of(&mean)
            );
            println!(
                "label only, random same-class training image: SSIM {}",
                edgehide::attack::Summary::of(&random)
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
                &load_pool(pool.as_deref())?,
                BackendChoice::Cpu,
            )?;
            let attacker = match &attacker_pool {
                Some(p) => Encryptor::new(
                    spec.clone().with_pool_fingerprint(None),
                    &load_pool(Some(p))?,
                    BackendChoice::Cpu,
                )?,
                None => Encryptor::new(
                    spec.clone(),
                    &load_pool(pool.as_deref())?,
                    BackendChoice::Cpu,
                )?,
            };
            let train = dataset::load(dataset, None, Split::Train)?;
            let test = dataset::load(dataset, None, Split::Test)?;
            let opts = edgehide::attack::AveragingOptions {
                ts: t,
                calibration,
                frames: limit,
            };
            let bar = progress_bar(1);
            let results = edgehide::attack::averaging_attack(
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
            let (mean, _) = edgehide::attack::baseline::label_only(&train, &test, limit);
            let b = edgehide::attack::Summary::of(&mean);
            println!(
                "label-only baseline on the same frames: mean {:.3}, p90 {:.3}",
                b.mean, b.p90
            );
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
            let pool = load_pool(pool.as_deref())?;
            let device = Encryptor::new(spec.clone(), &pool, BackendChoice::Cpu)?;
            let train = dataset::load(dataset, None, Split::Train)?;
            let test = dataset::load(dataset, None, Split::Test)?;
            let opts = edgehide::attack::search::SearchOptions {
                frames: limit,
                scale_ratio,
                stride,
                keep,
                ..Default::default()
            };
            let bar = progress_bar(limit.min(test.images.len()));
            let r = edgehide::attack::search::search_attack(&device, &train, &test, &opts, |d| {
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
            let (mean, _) = edgehide::attack::baseline::label_only(&train, &test, limit);
            let b = edgehide::attack::Summary::of(&mean);
            println!(
                "label-only baseline on the same frames: mean {:.3}, p90 {:.3}",
                b.mean, b.p90
            );
            Ok(())
        }
        Command::Info => {
            let enc = Encryptor::new(
                ModelSpec::fashion_mnist(),
                &PublicPool::bundled()?,
                BackendChoice::Auto,
            )?;
            println!("backend: {}", enc.backend());
            if let Some(why) = enc.fallback_reason() {
                println!("GPU fallback reason: {why}");
            }
            // A product build must say "absent"; CI checks the release binary.
            println!(
                "insecure test keys: {}",
                if edgehide::INSECURE_TEST_KEYS {
                    "PRESENT (test build)"
                } else {
                    "absent"
                }
            );
            Ok(())
        }
        Command::Demo {
            images,
            n,
            backend,
            out,
            model,
        } => demo(images, n, backend, &out, &model),
    }
}

fn duration(seconds: f64, what: &str) -> Result<std::time::Duration> {
    std::time::Duration::try_from_secs_f64(seconds)
        .map_err(|_| anyhow::anyhow!("{what} must be a non-negative number, got {seconds}"))
}

/// The spec with k replaced, when `--k` was given.
fn with_k(spec: ModelSpec, k: Option<usize>) -> Result<ModelSpec> {
    Ok(match k {
        Some(k) => spec.with_params(spec.params().with_k(k)?)?,
        None => spec,
    })
}

fn parse_split(split: &str) -> Result<Split> {
    Ok(match split {
        "train" => Split::Train,
        "test" => Split::Test,
        other => bail!("unknown split {other:?} (train or test)"),
    })
}

/// A progress bar on stderr (hidden when stderr is not a terminal).
fn progress_bar(n: usize) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(n as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} frames, {per_sec}, eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

/// Streams a split's encryptions to `out/x.npy` and its labels to `out/y.npy`.
fn encrypt_dataset(
    enc: &Encryptor,
    data: &dataset::Dataset,
    limit: Option<usize>,
    plain: bool,
    out: &Path,
) -> Result<()> {
    const CHUNK: usize = 1024;
    let n = limit.unwrap_or(usize::MAX).min(data.images.len());
    let g = enc.spec().geometry();
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let mut xs = edgehide::npy::NpyStream::<f32>::create(
        &out.join("x.npy"),
        &[n, g.channels, g.height, g.width],
    )?;
    let bar = progress_bar(n);
    let mut pre = Preprocessor::new(enc.spec());
    for start in (0..n).step_by(CHUNK) {
        let end = (start + CHUNK).min(n);
        let frames = data.preprocess(start..end, &mut pre)?;
        if plain {
            for x in &frames {
                xs.extend(x.data().iter().copied())?;
            }
        } else {
            for e in enc.encrypt_batch_fresh(&frames)? {
                xs.extend(e.into_data())?;
            }
        }
        bar.set_position(end as u64);
    }
    xs.finish()?;
    bar.finish_and_clear();
    edgehide::npy::write(&out.join("y.npy"), &[n], data.labels[..n].iter().copied())?;
    println!("wrote {n} encryptions to {} (x.npy, y.npy)", out.display());
    Ok(())
}

fn demo(
    images: Vec<PathBuf>,
    n: usize,
    backend: BackendChoice,
    out: &Path,
    model: &Path,
) -> Result<()> {
    let model = edgehide::infer::Model::load(model, None)?;
    let spec = model.spec().clone();
    let pool = PublicPool::bundled()?;
    let enc = Encryptor::new(spec.clone(), &pool, backend)?;
    let g = spec.geometry();
    println!(
        "edgehide demo: model {} ({}x{}x{}, k={})",
        spec.name(),
        g.channels,
        g.height,
        g.width,
        spec.params().k()
    );
    println!("backend: {}", enc.backend());
    if let Some(why) = enc.fallback_reason() {
        println!("  (GPU unavailable: {why})");
    }
    println!(
        "public corpus: {} photos, 2^{:.1} distinguishable crops per slot ({})",
        pool.len(),
        enc.effective_pool_log2(),
        pool.fingerprint_hex()
    );
    let mut pre = Preprocessor::new(&spec);
    let mut frames = Vec::new();
    if images.is_empty() {
        let test = dataset::fashion_mnist(None, Split::Test)?;
        let n = n.min(test.images.len());
        for (x, &label) in test
            .preprocess(0..n, &mut pre)?
            .into_iter()
            .zip(&test.labels)
        {
            let name = spec
                .labels()
                .get(label as usize)
                .cloned()
                .unwrap_or_default();
            frames.push((x, name, Some(label as usize)));
        }
    } else {
        for p in &images {
            let (rgb, w, h) = edgehide::frame::load_image_file(p)?;
            frames.push((
                pre.run(&FrameRef::packed(&rgb, w, h, PixelFormat::Rgb8)?)?,
                p.display().to_string(),
                None,
            ));
        }
    }
    if frames.is_empty() {
        bail!("no frames to encrypt");
    }
    let xs: Vec<_> = frames.iter().map(|(x, _, _)| x.clone()).collect();

    // The server, on loopback, holds the model; from here on this process
    // is the device and talks to it over HTTP only.
    let enc = std::sync::Arc::new(enc);
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .context("binding a loopback port")?;
    let url = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = rt.spawn(edgehide::server::serve(
        listener,
        vec![model],
        edgehide::server::ServerConfig::default(),
        async {
            let _ = stopped.await;
        },
    ));
    let client = rt.block_on(edgehide::client::AsyncClient::connect(
        &url,
        spec.name(),
        enc.clone(),
        edgehide::client::ClientConfig::default(),
    ))?;
    println!(
        "server: {url} (Open Inference Protocol), model {} checked against this encryptor",
        spec.name()
    );
    let bar = progress_bar(frames.len());
    let (mut encs, mut answers) = (Vec::new(), Vec::new());
    let (mut t_enc, mut t_remote) = (0.0, 0.0);
    for chunk in xs.chunks(64) {
        let started = std::time::Instant::now();
        let e = enc.encrypt_batch_fresh(chunk)?;
        t_enc += started.elapsed().as_secs_f64();
        let started = std::time::Instant::now();
        answers.extend(rt.block_on(client.classify_encrypted(&e))?);
        t_remote += started.elapsed().as_secs_f64();
        encs.extend(e);
        bar.set_position(encs.len() as u64);
    }
    bar.finish_and_clear();
    let _ = stop.send(());
    rt.block_on(server)
        .context("server task")?
        .context("server")?;

    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let (w, h) = (g.width as u32, g.height as u32);
    let mut panels = Vec::with_capacity(encs.len());
    let mut correct = 0;
    for (i, ((x, name, truth), (e, answer))) in
        frames.iter().zip(encs.iter().zip(&answers)).enumerate()
    {
        let mark = match truth {
            Some(t) if *t == answer.class() => {
                correct += 1;
                "ok"
            }
            Some(_) => "MISS",
            None => "",
        };
        let p = answer.top.first().map(|t| t.2).unwrap_or(0.0);
        let caption = format!("{} {:.0}% {mark}", answer.label(), p * 100.0);
        let panel = edgehide::picture::panel(x.data(), e.data(), w, h, &caption);
        let file = out.join(format!("{i:03}.png"));
        panel
            .save(&file)
            .with_context(|| format!("writing {}", file.display()))?;
        panels.push(panel);
        println!(
            "{i:3}  {name:<14} predicted {:<12} {:>3.0}%  {mark:<4} {}",
            answer.label(),
            p * 100.0,
            file.display()
        );
    }
    let sheet_path = out.join("sheet.png");
    edgehide::picture::contact_sheet(&panels, 8)
        .save(&sheet_path)
        .with_context(|| format!("writing {}", sheet_path.display()))?;
    let n = encs.len() as f64;
    println!(
        "{} frames: encryption {:.3} ms/frame on the {}, remote classification {:.3} ms/frame; contact sheet: {}",
        encs.len(),
        t_enc * 1e3 / n,
        enc.backend(),
        t_remote * 1e3 / n,
        sheet_path.display()
    );
    let labelled = frames.iter().filter(|f| f.2.is_some()).count();
    if labelled > 0 {
        println!(
            "accuracy: {correct}/{labelled} = {:.3}",
            correct as f64 / labelled as f64
        );
    }
    println!(
        "pictures: left, the frame; right, the encryption the server saw; below, its answer. Keys were never written."
    );
    Ok(())
}
