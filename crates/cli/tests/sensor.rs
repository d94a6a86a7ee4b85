//! `edgehide sensor` against `edgehide serve` on loopback: 110 synthetic
//! video frames (still scenes with sensor noise, cuts, a pan), the server
//! killed mid-run and started again. The loop recovers, never sends more
//! than the scene budget allows, and its screen shows the link's state of
//! every frame. Also the framebuffer output and a clean stop on SIGTERM.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use edgehide_lab::dataset::{self, Split};

mod common;
use common::*;

/// `edgehide serve` with the bundled model on `port`, once it answers.
fn serve(port: u16) -> Reaped {
    serve_model(&model_path(), port)
}

/// 110 frames of 56x56 grey: scene A still with noise (0-19), a cut to
/// scene B (20-39), a pan across two garments and back (40-99: each frame a
/// new scene, so each is sent), scene A again (100-109).
fn video(dir: &Path) {
    let test = dataset::fashion_mnist(None, Split::Test).unwrap();
    let garment = |i: usize| -> Vec<u8> {
        let p = test.images[i].pixels();
        (0..56 * 56)
            .map(|k| p[(k / 56 / 2) * 28 + (k % 56) / 2])
            .collect()
    };
    let (a, b) = (garment(0), garment(1));
    let wide: Vec<u8> = (0..56)
        .flat_map(|y| {
            let row_a = &garment(2)[y * 56..(y + 1) * 56];
            let row_b = &garment(3)[y * 56..(y + 1) * 56];
            row_a.iter().chain(row_b).copied().collect::<Vec<u8>>()
        })
        .collect();
    let mut seed = 12345u32;
    let mut noise = move || {
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        ((seed >> 24) % 9) as i16 - 4
    };
    for n in 0..110 {
        let pixels: Vec<u8> = match n {
            0..20 | 100.. => a.clone(),
            20..40 => b.clone(),
            _ => {
                // 2 pixels a frame, to the right and back.
                let step = n - 40;
                let shift = if step < 28 {
                    step * 2
                } else {
                    55usize.saturating_sub(step) * 2
                };
                (0..56 * 56)
                    .map(|k| wide[(k / 56) * 112 + k % 56 + shift])
                    .collect()
            }
        };
        let noisy: Vec<u8> = pixels
            .iter()
            .map(|&v| (v as i16 + noise()).clamp(0, 255) as u8)
            .collect();
        image::GrayImage::from_raw(56, 56, noisy)
            .unwrap()
            .save(dir.join(format!("{n:03}.png")))
            .unwrap();
    }
}

/// One line of the sensor's log.
#[derive(Debug)]
struct Line {
    frame: usize,
    link: String,
    scene: String,
    action: String,
}

fn parse(line: &str) -> Option<Line> {
    let f: Vec<&str> = line.split('\t').collect();
    let frame = f.first()?.strip_prefix("frame ")?.parse().ok()?;
    Some(Line {
        frame,
        link: f.get(1)?.to_string(),
        scene: f.get(2)?.to_string(),
        action: f.get(3)?.to_string(),
    })
}

fn sensor(server: &str, frames: &Path, display: &str, fps: &str) -> Command {
    let mut c = edgehide();
    c.args(["sensor", "--server", server, "--model", NAME, "--spec"])
        .arg(model_path().with_extension("json"))
        .arg("--frames")
        .arg(frames)
        .args([
            "--display",
            display,
            "--fps",
            fps,
            "--budget",
            "2",
            "--window",
            "600",
        ])
        .args(["--timeout-s", "1", "--backend", "cpu"]);
    c
}

/// The link colour drawn in the 240x240 layout's top bar.
fn bar_colour(png: &Path) -> [u8; 3] {
    image::open(png).unwrap().to_rgb8().get_pixel(120, 25).0
}

#[test]
fn the_loop_rides_out_a_server_restart_within_its_budget() {
    let dir = tempfile::tempdir().unwrap();
    let (frames, screens) = (dir.path().join("frames"), dir.path().join("screens"));
    std::fs::create_dir(&frames).unwrap();
    video(&frames);
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let mut server = Some(serve(port));
    let mut child = Reaped(
        sensor(&url, &frames, &format!("png:{}", screens.display()), "20")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let out = BufReader::new(child.0.stdout.take().unwrap());
    let mut lines = Vec::new();
    let mut restarted = false;
    for text in out.lines() {
        let text = text.unwrap();
        if let Some(l) = parse(&text) {
            // Down from the end of scene B, back once the sensor says
            // offline.
            if l.frame == 37 {
                server = None;
            }
            if l.link == "offline" && !restarted {
                server = Some(serve(port));
                restarted = true;
            }
            lines.push(l);
        } else {
            assert!(text == "done", "{text}");
        }
    }
    assert!(child.0.wait().unwrap().success());
    drop(server);
    assert_eq!(lines.len(), 110, "{lines:?}");

    // Online at first; down (retrying, then offline; frames failed or
    // dropped, never queued) from the first frame that needed the server;
    // online again once it was back, to the end.
    assert!(lines[..38].iter().all(|l| l.link == "ok"), "{lines:?}");
    let lost = lines.iter().position(|l| l.link != "ok").unwrap();
    let offline = lines.iter().position(|l| l.link == "offline").unwrap();
    let back = lost + lines[lost..].iter().position(|l| l.link == "ok").unwrap();
    assert!(lost < offline && offline < back && back < 100, "{lines:?}");
    assert!(
        lines[lost..back]
            .iter()
            .all(|l| l.action == "dropped" || l.action == "failed"),
        "{lines:?}"
    );
    assert!(lines[back..].iter().all(|l| l.link == "ok"), "{lines:?}");

    // The budget: scene A sends its first two frames and reuses the answer
    // for the rest, even when it comes back at the end; no scene (counting
    // requests that failed, which a server may have seen) exceeds two.
    let a = &lines[0].scene;
    let sent_a: Vec<usize> = lines
        .iter()
        .filter(|l| &l.scene == a && l.action == "sent")
        .map(|l| l.frame)
        .collect();
    assert_eq!(sent_a, [0, 1], "{lines:?}");
    assert!(
        lines[100..]
            .iter()
            .all(|l| &l.scene == a && l.action == "reused"),
        "{lines:?}"
    );
    let mut per_scene = std::collections::HashMap::<&str, usize>::new();
    for l in lines
        .iter()
        .filter(|l| l.action == "sent" || l.action == "failed")
    {
        *per_scene.entry(l.scene.as_str()).or_default() += (l.scene != "-") as usize;
    }
    assert!(per_scene.values().all(|&n| n <= 2), "{per_scene:?}");

    // One screen per frame, its top bar in the colour of the frame's link.
    for l in &lines {
        let [r, g, _] = bar_colour(&screens.join(format!("{:05}.png", l.frame)));
        let ok = match l.link.as_str() {
            "ok" => g > 150 && r < 100,
            "retrying" | "connecting" => r > 200 && g > 150,
            "offline" => r > 200 && g < 100,
            other => panic!("{other}"),
        };
        assert!(ok, "frame {}: {} drawn as {r},{g}", l.frame, l.link);
    }
}

#[test]
fn the_screen_goes_to_a_framebuffer_and_sigterm_stops_the_loop() {
    let dir = tempfile::tempdir().unwrap();
    let frames = dir.path().join("frames");
    std::fs::create_dir(&frames).unwrap();
    video(&frames);
    let nobody = format!("http://127.0.0.1:{}", free_port());
    for (layout, size, bytes) in [("rgb565", "128x64", 2usize), ("xrgb8888", "240x240", 4)] {
        let fb = dir.path().join(format!("fb-{layout}"));
        let (w, h) = size.split_once('x').unwrap();
        let len = w.parse::<usize>().unwrap() * h.parse::<usize>().unwrap() * bytes;
        std::fs::write(&fb, vec![0u8; len]).unwrap();
        let mut child = Reaped(
            sensor(
                &nobody,
                &frames,
                &format!("fb:{}:{size}:{layout}", fb.display()),
                "20",
            )
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
        );
        let mut out = BufReader::new(child.0.stdout.take().unwrap());
        let mut first = String::new();
        out.read_line(&mut first).unwrap();
        assert!(first.starts_with("frame 0\t"), "{first}");
        // SAFETY: signalling our own child.
        assert_eq!(unsafe { libc::kill(child.0.id() as i32, libc::SIGTERM) }, 0);
        let stopped = Instant::now();
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
        assert!(child.0.wait().unwrap().success());
        assert!(stopped.elapsed() < Duration::from_secs(5));
        assert!(rest.trim_end().ends_with("stopped"), "{rest}");
        let written = std::fs::read(&fb).unwrap();
        assert_eq!(written.len(), len);
        assert!(written.iter().any(|&b| b != 0), "{layout}: nothing drawn");
    }
    // A framebuffer too small for the screen is refused at start.
    let small = dir.path().join("fb-small");
    std::fs::write(&small, [0u8; 100]).unwrap();
    let out = sensor(
        &nobody,
        &frames,
        &format!("fb:{}:240x240:rgb565", small.display()),
        "20",
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs 115200"));
}

#[test]
fn a_frame_that_cannot_be_read_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let (all, few) = (dir.path().join("all"), dir.path().join("few"));
    std::fs::create_dir(&all).unwrap();
    std::fs::create_dir(&few).unwrap();
    video(&all);
    for name in ["000.png", "002.png"] {
        std::fs::copy(all.join(name), few.join(name)).unwrap();
    }
    std::fs::write(few.join("001.png"), b"not a picture").unwrap();
    let port = free_port();
    let _server = serve(port);
    let out = sensor(&format!("http://127.0.0.1:{port}"), &few, "none", "50")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let lines: Vec<Line> = text.lines().filter_map(parse).collect();
    let actions: Vec<&str> = lines.iter().map(|l| l.action.as_str()).collect();
    assert_eq!(actions, ["sent", "skipped", "sent"], "{text}");
}
