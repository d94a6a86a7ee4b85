//! `edgehide demo`: the end-to-end demo on the embedded defaults.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use edgehide::{BackendChoice, Encryptor, FrameRef, PixelFormat, Preprocessor, PublicPool};
use edgehide_lab::dataset::{self, Split};

use crate::common::{load_model, progress_bar};

/// The end-to-end demo on the embedded defaults (bundled corpus,
/// Fashion-MNIST geometry): encrypt frames and picture what leaves the device.
#[derive(clap::Args)]
pub struct Args {
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
}

pub fn run(args: Args) -> Result<()> {
    demo(args.images, args.n, args.backend, &args.out, &args.model)
}

fn demo(
    images: Vec<PathBuf>,
    n: usize,
    backend: BackendChoice,
    out: &Path,
    model: &Path,
) -> Result<()> {
    let model = load_model(model)?;
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
    // The frames, and for each its name and true class when known.
    let mut xs = Vec::new();
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
            xs.push(x);
            frames.push((name, Some(label as usize)));
        }
    } else {
        for p in &images {
            let (rgb, w, h) = edgehide::load_image_file(p, &spec.geometry())?;
            xs.push(pre.run(&FrameRef::packed(&rgb, w, h, PixelFormat::Rgb8)?)?);
            frames.push((p.display().to_string(), None));
        }
    }
    if frames.is_empty() {
        bail!("no frames to encrypt");
    }

    // The server, on loopback, holds the model; from here on this process
    // is the device and talks to it over HTTP only.
    let enc = std::sync::Arc::new(enc);
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .context("binding a loopback port")?;
    let url = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = rt.spawn(edgehide_server::serve(
        listener,
        vec![model],
        edgehide_server::ServerConfig::default(),
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
    for (i, (((name, truth), x), (e, answer))) in frames
        .iter()
        .zip(&xs)
        .zip(encs.iter().zip(&answers))
        .enumerate()
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
        let panel = edgehide_lab::picture::panel(x.data(), e.data(), w, h, &caption);
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
    edgehide_lab::picture::contact_sheet(&panels, 8)
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
    let labelled = frames.iter().filter(|f| f.1.is_some()).count();
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
