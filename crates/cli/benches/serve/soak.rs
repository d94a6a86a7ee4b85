//! The soak run (`cargo bench -p edgehide-cli --bench serve -- soak`): a
//! minute of good, malformed, oversized and slow clients at once against
//! `edgehide serve`, with the server's resident memory before, at its peak
//! and after. Under `cargo test` it runs for two seconds as a smoke test.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Resident memory of a process in KiB: in all, and the part that is heap
/// and stacks (anonymous) rather than mapped files such as ONNX Runtime's
/// code, whose pages come in once on first use and are shared.
#[derive(Clone, Copy, Default)]
struct Rss {
    all: u64,
    anon: u64,
}

impl Rss {
    fn of(pid: u32) -> Option<Rss> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let field = |name: &str| -> Option<u64> {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        };
        Some(Rss {
            all: field("VmRSS:")?,
            anon: field("RssAnon:")?,
        })
    }
}

impl std::fmt::Display for Rss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.1} MiB ({:.1} MiB heap and stacks)",
            self.all as f64 / 1024.0,
            self.anon as f64 / 1024.0
        )
    }
}

/// A request body and its binary header length.
type Body = Arc<(Vec<u8>, usize)>;

#[derive(Default)]
struct Counts {
    ok: AtomicUsize,
    refused: AtomicUsize,
    failed: AtomicUsize,
    slow_closed: AtomicUsize,
    slow_kept: AtomicUsize,
}

/// Runs the soak against the server at `url` (process `pid`) for `length`.
/// `good` and `big` are request bodies (with their header lengths) of one
/// frame and of 64 frames.
pub async fn run(url: &str, pid: u32, length: Duration, good: Body, big: Body) {
    let counts = Arc::new(Counts::default());
    let stop = Arc::new(AtomicBool::new(false));
    let infer = format!("{url}/v2/models/fashion-mnist-k4/infer");
    let rest = Rss::of(pid).unwrap_or_default();
    // Warm: the first requests of each size bring in ONNX Runtime's code and
    // its arena's first blocks, which stay for the process's life.
    let client = super::http();
    for body in [&good, &big, &good] {
        let _ = client
            .post(&infer)
            .header(edgehide_oip::HEADER_LENGTH, body.1)
            .body(body.0.clone())
            .send()
            .await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = Rss::of(pid).unwrap_or_default();
    let peak = Arc::new(AtomicUsize::new(before.all as usize));
    let sampler = {
        let (peak, stop) = (peak.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                if let Some(r) = Rss::of(pid) {
                    peak.fetch_max(r.all as usize, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let addr = url.trim_start_matches("http://").to_string();
    let mut tasks = Vec::new();
    // Good clients (one frame), one big one (64 frames), malformed ones.
    let kinds: Vec<(usize, Option<Body>)> =
        vec![(8, Some(good.clone())), (1, Some(big.clone())), (2, None)];
    for (n, body) in kinds {
        for i in 0..n {
            let (infer, counts, stop, body) =
                (infer.clone(), counts.clone(), stop.clone(), body.clone());
            tasks.push(tokio::spawn(async move {
                let client = super::http();
                let mut k = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    k += 1;
                    let mut req = client.post(&infer);
                    req = match &body {
                        Some(b) => req
                            .header(edgehide_oip::HEADER_LENGTH, b.1)
                            .body(b.0.clone()),
                        None => match (i + k) % 3 {
                            0 => req.body("{\"inputs\": [{\"name\": \"input\", \"shape\": [1"),
                            1 => req.body(vec![0xffu8; 4096]),
                            _ => req
                                .header(edgehide_oip::HEADER_LENGTH, "99999")
                                .body(vec![1u8; 64]),
                        },
                    };
                    match req.send().await {
                        Ok(r) if r.status().is_success() => {
                            let _ = r.bytes().await;
                            counts.ok.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(r) if r.status().is_client_error() => {
                            let _ = r.bytes().await;
                            counts.refused.fetch_add(1, Ordering::Relaxed);
                        }
                        _ => {
                            counts.failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }));
        }
    }
    // Slow clients: half a request, then silence, until the server hangs up.
    for i in 0..4 {
        let (addr, counts, stop) = (addr.clone(), counts.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let Ok(mut s) = tokio::net::TcpStream::connect(&addr).await else {
                    continue;
                };
                let half: &[u8] = if i % 2 == 0 {
                    b"GET /v2 HTTP/1.1\r\nHost: a\r\nX-Slow: "
                } else {
                    b"POST /v2/models/fashion-mnist-k4/infer HTTP/1.1\r\nHost: a\r\nContent-Length: 9000\r\n\r\n{"
                };
                let _ = s.write_all(half).await;
                let mut buf = [0u8; 512];
                let closed = tokio::time::timeout(Duration::from_secs(10), async {
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                    }
                })
                .await
                .is_ok();
                let c = if closed { &counts.slow_closed } else { &counts.slow_kept };
                c.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let started = Instant::now();
    tokio::time::sleep(length).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(15), t).await;
    }
    let ran = started.elapsed();
    // The server at rest again: the queue drained, freed memory returned.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = Rss::of(pid).unwrap_or_default();
    stop.store(true, Ordering::Relaxed);
    let _ = sampler.await;
    let c = &counts;
    println!(
        "soak, {:.0} s: {} answered, {} refused with a 4xx, {} failed; slow connections: {} closed by the server, {} still open after 10 s",
        ran.as_secs_f64(),
        c.ok.load(Ordering::Relaxed),
        c.refused.load(Ordering::Relaxed),
        c.failed.load(Ordering::Relaxed),
        c.slow_closed.load(Ordering::Relaxed),
        c.slow_kept.load(Ordering::Relaxed),
    );
    println!(
        "server resident memory: {rest} at rest, {before} after warm-up, {:.1} MiB peak, {after} 3 s after",
        peak.load(Ordering::Relaxed) as f64 / 1024.0,
    );
}
