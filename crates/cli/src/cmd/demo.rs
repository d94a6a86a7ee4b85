//! `edgehide demo`: the end-to-end demo on the embedded defaults, with
//! both sides: what the device sent, and what a server could rebuild from
//! it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use edgehide::{BackendChoice, Encryptor, FrameRef, PixelFormat, Preprocessor};
use edgehide_lab::dataset::{self, Split};

use crate::common::{DEFAULT_MODEL, corpus, load_model, progress_bar};

/// The end-to-end demo on the embedded defaults (the default Fashion-MNIST
/// model and the corpus its sidecar names): encrypt frames, classify them on a loopback
/// server, and picture what leaves the device and what a server could
/// rebuild from it (the bundled learned decoder, when it was trained for the
/// model).
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
    #[arg(long, default_value = DEFAULT_MODEL)]
    model: PathBuf,
    /// The learned decoder the server side runs to show what it could
    /// rebuild; used when its sidecar names the model.
    #[arg(
        long,
        default_value = "models/attack-decoder-fashion-mnist-k8-digits.onnx"
    )]
    decoder: PathBuf,
    /// Also write OUT/demo.html, one self-contained page (images inline).
    #[arg(long)]
    html: bool,
}

pub fn run(args: Args) -> Result<()> {
    demo(&args)
}

/// The decoder at `path`, when its sidecar says it was trained for `model`.
fn decoder_for(path: &Path, model: &str) -> Result<Option<edgehide_server::Rebuilder>> {
    let sidecar = path.with_extension("json");
    let Ok(text) = std::fs::read_to_string(&sidecar) else {
        return Ok(None);
    };
    let meta: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("reading {}", sidecar.display()))?;
    if meta.get("model").and_then(|m| m.as_str()) != Some(model) {
        return Ok(None);
    }
    let runtime = edgehide_lab::paths::load_runtime()?;
    Ok(Some(edgehide_server::Rebuilder::load(runtime, path)?))
}

fn demo(args: &Args) -> Result<()> {
    let (images, n, backend, out) = (args.images.clone(), args.n, args.backend, &args.out);
    let model = load_model(&args.model)?;
    let spec = model.spec().clone();
    let pool = corpus(&spec, None)?;
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
        "public corpus: {} images, 2^{:.1} distinguishable public images per slot ({})",
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

    // The server's side: what it could rebuild from each single encryption
    // and the class it answered, against what the class alone gives.
    let rebuilder = if g.channels == 1 {
        decoder_for(&args.decoder, spec.name())?
    } else {
        None
    };
    let classes: Vec<usize> = answers.iter().map(|a| a.class()).collect();
    let rebuilt = match &rebuilder {
        Some(r) if r.size() == (g.height, g.width) => {
            let flat: Vec<f32> = encs.iter().flat_map(|e| e.data().iter().copied()).collect();
            Some(r.rebuild(&flat, &classes)?)
        }
        _ => None,
    };
    let plane = g.height * g.width;
    // The frames as the model sees them, back on the [0, 1] scale.
    let truth: Vec<Vec<f32>> = xs
        .iter()
        .map(|x| {
            let (m, s) = (spec.mean()[0] as f32, spec.std()[0] as f32);
            x.data()[..plane]
                .iter()
                .map(|v| (v * s + m).clamp(0.0, 1.0))
                .collect()
        })
        .collect();
    let scores = match &rebuilt {
        Some(r) => Some(rebuild_scores(&truth, r, &classes, g.width, g.height)?),
        None => None,
    };

    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let (w, h) = (g.width as u32, g.height as u32);
    let mut panels = Vec::with_capacity(encs.len());
    let mut captions = Vec::with_capacity(encs.len());
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
        let mut pictures: Vec<&[f32]> = vec![x.data(), e.data()];
        if let Some(r) = &rebuilt {
            pictures.push(&r[i * plane..(i + 1) * plane]);
        }
        let panel = edgehide_lab::picture::panel(&pictures, w, h, &caption);
        captions.push(match &scores {
            Some(s) => format!("{caption} (rebuilt: SSIM {:.2})", s.rebuilt[i]),
            None => caption.clone(),
        });
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
    let legend = if rebuilt.is_some() {
        "pictures: left, the frame; middle, the encryption the server saw; right, what the server rebuilt from that one encryption and its answer; below, the answer. Keys were never written."
    } else {
        "pictures: left, the frame; right, the encryption the server saw; below, its answer. Keys were never written. (No learned decoder for this model: what a server could rebuild is not shown.)"
    };
    let summary = scores.as_ref().map(|s| {
        format!(
            "what the server rebuilt from single encryptions: SSIM mean {:.3} over {} frames; from the answer alone (the class's mean training image): {:.3}. docs/SECURITY.md measures this attack over 2,000 test frames.",
            mean(&s.rebuilt),
            s.rebuilt.len(),
            mean(&s.baseline)
        )
    });
    if let Some(line) = &summary {
        println!("{line}");
    }
    println!("{legend}");
    if args.html {
        let page = out.join("demo.html");
        let lines: Vec<String> = [Some(legend.to_string()), summary]
            .into_iter()
            .flatten()
            .collect();
        html::write(&page, &panels, &captions, &lines)?;
        println!("page: {}", page.display());
    }
    Ok(())
}

/// Per frame: SSIM of what the server rebuilt, and of the class's mean
/// training image (the label-only baseline), against the frame.
struct Scores {
    rebuilt: Vec<f64>,
    baseline: Vec<f64>,
}

fn rebuild_scores(
    truth: &[Vec<f32>],
    rebuilt: &[f32],
    classes: &[usize],
    w: usize,
    h: usize,
) -> Result<Scores> {
    use edgehide_lab::score::{baseline::class_means, ssim::ssim};
    let train = dataset::fashion_mnist(None, Split::Train)?;
    let means = class_means(&train);
    let plane = w * h;
    let score = |a: &[f32], b: &[f32]| ssim(a, b, w, h, 1.0).unwrap_or(0.0);
    let mut s = Scores {
        rebuilt: Vec::new(),
        baseline: Vec::new(),
    };
    for (i, t) in truth.iter().enumerate() {
        s.rebuilt
            .push(score(t, &rebuilt[i * plane..(i + 1) * plane]));
        let mean = means.get(classes[i]).filter(|m| m.len() == plane);
        s.baseline.push(mean.map_or(0.0, |m| score(t, m)));
    }
    Ok(s)
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

mod html {
    //! One self-contained page: the panels inline as PNG data, captions,
    //! and the summary lines.

    use std::path::Path;

    use anyhow::{Context, Result};
    use base64::Engine;

    fn escape(s: &str) -> String {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    }

    pub fn write(
        path: &Path,
        panels: &[image::GrayImage],
        captions: &[String],
        lines: &[String],
    ) -> Result<()> {
        let mut page = String::from(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>edgehide demo</title>\n<style>body{font-family:sans-serif;background:#222;color:#eee;margin:1.5em}figure{display:inline-block;margin:.5em;text-align:center}img{image-rendering:pixelated;border:1px solid #555}figcaption{font-size:.85em}</style></head><body>\n<h1>edgehide demo</h1>\n",
        );
        for line in lines {
            page.push_str(&format!("<p>{}</p>\n", escape(line)));
        }
        for (i, (panel, caption)) in panels.iter().zip(captions).enumerate() {
            let mut png = Vec::new();
            panel
                .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
                .context("encoding a panel")?;
            let data = base64::engine::general_purpose::STANDARD.encode(&png);
            page.push_str(&format!(
                "<figure><img alt=\"frame {i}\" width=\"{}\" height=\"{}\" src=\"data:image/png;base64,{data}\"><figcaption>{}</figcaption></figure>\n",
                panel.width(),
                panel.height(),
                escape(caption)
            ));
        }
        page.push_str("</body></html>\n");
        std::fs::write(path, page).with_context(|| format!("writing {}", path.display()))
    }
}
