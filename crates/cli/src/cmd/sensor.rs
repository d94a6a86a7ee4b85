//! `edgehide sensor`: a camera-less IoT sensor's loop. Frames from a
//! source, each preprocessed, held to the scene budget, encrypted with a
//! fresh key and classified on the server; the status screen after each.
//! A server that goes away costs dropped frames and a screen that says so,
//! never a crash or an unbounded queue; the loop carries on when it is back.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use edgehide::client::{ClientConfig, FrameAnswer, VideoSession};
use edgehide::display::{SceneState, Status, Thumbnail};
use edgehide::scene::SceneConfig;
use edgehide::{Backend, BackendChoice, FrameRef, ModelSpec, PixelFormat, Preprocessor};

use crate::common::{duration, encryptor};
use crate::sensor::{frames, link::Link, screen::Screen};

/// Run as a sensor: classify a stream of frames on a server, under a scene
/// budget, showing the state on a status screen; one line per frame on
/// stdout (frame, link, scene, what was done, label, probability).
#[derive(clap::Args)]
pub struct Args {
    /// The server's base URL.
    #[arg(long)]
    server: String,
    /// The model's name on the server.
    #[arg(long, default_value = "fashion-mnist-k8-digits")]
    model: String,
    /// The model's sidecar (default: the default Fashion-MNIST model's).
    #[arg(long, default_value = "models/fashion-mnist-k8-digits.json")]
    spec: PathBuf,
    /// A folder of frames (PNG, JPEG), read in name order.
    #[arg(long)]
    frames: PathBuf,
    /// The status screen: none, png:DIR[:WxH] (one PNG per frame; 128x64
    /// or smaller draws a monochrome panel), or fb:PATH:WxH:rgb565|xrgb8888
    /// (a Linux framebuffer).
    #[arg(long, default_value = "none")]
    display: String,
    /// Encryptions of one scene per window.
    #[arg(long, default_value_t = 2)]
    budget: usize,
    /// The budget's window, in seconds.
    #[arg(long, default_value_t = 60.0)]
    window: f64,
    /// Frames per second taken from the source.
    #[arg(long, default_value_t = 10.0)]
    fps: f64,
    /// The public corpus (default: the bundled photo corpus).
    #[arg(long)]
    pool: Option<PathBuf>,
    /// The deployment key of a DisguisedNets model (its key file).
    #[arg(long)]
    key: Option<PathBuf>,
    #[arg(long, default_value = "auto")]
    backend: BackendChoice,
    /// Seconds a request may take.
    #[arg(long, default_value_t = 2.0)]
    timeout_s: f64,
}

/// Scenes numbered in the order first seen, for the log. The scene's hash
/// is a 16x16 one-bit thumbnail of the private frame, so it never leaves
/// the loop.
#[derive(Default)]
struct SceneNumbers {
    seen: std::collections::HashMap<edgehide::scene::Hash, usize>,
    next: usize,
}

impl SceneNumbers {
    fn number(&mut self, scene: edgehide::scene::Hash) -> usize {
        // Bounded: past 4096 scenes old ones get new numbers if seen again.
        if self.seen.len() >= 4096 {
            self.seen.clear();
        }
        let next = &mut self.next;
        *self.seen.entry(scene).or_insert_with(|| {
            *next += 1;
            *next
        })
    }
}

fn link_name(link: &Link) -> String {
    format!("{:?}", link.state()).to_lowercase()
}

pub fn run(args: Args) -> Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, stop.clone()).context("installing a signal handler")?;
    }
    let spec = ModelSpec::from_json_file(&args.spec)?;
    let enc = Arc::new(encryptor(
        spec,
        args.pool.as_deref(),
        args.key.as_deref(),
        args.backend,
    )?);
    let gpu = matches!(enc.backend(), Backend::Gpu(_));
    if let Some(why) = enc.fallback_reason() {
        eprintln!("encrypting on the CPU: {why}");
    }
    let geometry = enc.spec().geometry();
    let mut pre = Preprocessor::new(enc.spec());
    let paths = frames::folder(&args.frames)?;
    let mut screen = Screen::open(&args.display)?;
    let mut config = ClientConfig::default();
    config.timeout = duration(args.timeout_s, "--timeout-s")?;
    // The loop retries by itself, dropping frames meanwhile.
    config.retries = 0;
    let mut link = Link::new(&args.server, &args.model, enc.clone(), config);
    let mut scene_config = SceneConfig::default();
    scene_config.budget = args.budget;
    scene_config.window = duration(args.window, "--window")?;
    let mut session = VideoSession::new(scene_config);
    if !(args.fps.is_finite() && args.fps > 0.0) {
        anyhow::bail!("--fps must be a positive number");
    }
    let period = Duration::from_secs_f64(1.0 / args.fps);
    let started = Instant::now();
    let mut last_answer: Option<(String, f32)> = None;
    let mut scenes = SceneNumbers::default();
    for (n, path) in paths.iter().enumerate() {
        if stop.load(Ordering::Relaxed) {
            println!("stopped");
            return Ok(());
        }
        // The source's pace, like a camera's.
        let due = started + period.mul_f64(n as f64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let fps = (n + 1) as f32 / started.elapsed().as_secs_f32().max(1e-3);
        let now = Instant::now();
        let mut scene = SceneState::Idle;
        let mut sent = None;
        let (action, scene_id) = match link.ready(now) {
            None => ("dropped", String::from("-")),
            Some(client) => {
                // A frame that cannot be read is skipped, not fatal.
                let frame = edgehide::load_image_file(path, &geometry).and_then(|(rgb, w, h)| {
                    pre.run(&FrameRef::packed(&rgb, w, h, PixelFormat::Rgb8)?)
                });
                let frame = match frame {
                    Ok(f) => f,
                    Err(e) => {
                        eprintln!("frame {n}: {e}");
                        println!("frame {n}\t{}\t-\tskipped\t-\t0.000", link_name(&link));
                        continue;
                    }
                };
                match client.classify_video_frame_shown(&mut session, &frame) {
                    Ok(shown) => {
                        link.succeeded();
                        let id = scenes.number(shown.scene).to_string();
                        sent = shown.sent;
                        let (action, answer) = match shown.answer {
                            FrameAnswer::Fresh(a) => {
                                scene = SceneState::Sent;
                                ("sent", Some(a))
                            }
                            FrameAnswer::Reused(a) => {
                                scene = SceneState::Reused;
                                ("reused", Some(a))
                            }
                            _ => {
                                scene = SceneState::Withheld;
                                ("withheld", None)
                            }
                        };
                        if let Some(a) = answer {
                            last_answer =
                                Some((a.label().to_string(), a.top.first().map_or(0.0, |t| t.2)));
                        }
                        (action, id)
                    }
                    Err(e) => {
                        eprintln!("frame {n}: {e}");
                        link.failed(&e, Instant::now());
                        ("failed", String::from("-"))
                    }
                }
            }
        };
        let (label, p) = last_answer
            .as_ref()
            .map_or(("-", 0.0), |(l, p)| (l.as_str(), *p));
        println!(
            "frame {n}\t{}\t{scene_id}\t{action}\t{label}\t{p:.3}",
            link_name(&link)
        );
        let status = Status {
            answer: last_answer.as_ref().map(|(l, p)| (l.as_str(), *p)),
            sent: sent.as_ref().map(Thumbnail::of),
            gpu,
            link: link.state(),
            scene,
            fps,
        };
        screen.show(&status, n)?;
    }
    println!("done");
    Ok(())
}
