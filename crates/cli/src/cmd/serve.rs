//! `edgehide serve`: serve models over the Open Inference Protocol.

use std::path::PathBuf;

use anyhow::{Context, Result};
use edgehide_server::ServerConfig;

use crate::common::{duration, load_model};

/// Serve models over the Open Inference Protocol (KServe v2 REST) with
/// dynamic batching, until SIGTERM or Ctrl-C.
#[derive(clap::Args)]
pub struct Args {
    /// An ONNX model (its sidecar is the same path with .json); repeat for
    /// more. Each is served under its sidecar's name.
    #[arg(long = "model", required = true)]
    models: Vec<PathBuf>,
    #[arg(long, default_value = "127.0.0.1:8000")]
    addr: std::net::SocketAddr,
    /// Also serve the protocol's gRPC service (KServe's and Triton's
    /// `inference.GRPCInferenceService`) here, with the same models,
    /// batching and limits.
    #[arg(long)]
    grpc_addr: Option<std::net::SocketAddr>,
    /// Frames per inference; 1 turns batching off.
    #[arg(long, default_value_t = 64)]
    max_batch: usize,
    /// How long a request may wait for others to share its batch (0: none;
    /// requests that queue while a batch runs still share the next one).
    #[arg(long, default_value_t = 0.0)]
    max_delay_ms: f64,
    /// Requests waiting or running per model before answering 503.
    #[arg(long, default_value_t = 1024)]
    queue: usize,
    /// Largest request body, in MiB.
    #[arg(long, default_value_t = 16)]
    max_body_mib: usize,
    /// Frames one request may carry (413 past it; default: --max-batch).
    #[arg(long)]
    max_frames: Option<usize>,
    /// Largest magnitude of an input value (400 past it): encryptions of
    /// normalised frames stay within a few units.
    #[arg(long, default_value_t = 1e4)]
    max_abs_input: f32,
    /// Seconds a connection has to send a request's headers; also how long
    /// an idle keep-alive connection stays open.
    #[arg(long, default_value_t = 10.0)]
    header_timeout_s: f64,
    /// Seconds a request's body has to arrive in full (408 past it).
    #[arg(long, default_value_t = 30.0)]
    body_timeout_s: f64,
    /// Connections open at once; more wait in the accept backlog.
    #[arg(long, default_value_t = 1024)]
    max_connections: usize,
    /// Seconds a shutdown (SIGTERM, Ctrl-C) waits for requests already
    /// received before closing every connection.
    #[arg(long, default_value_t = 5.0)]
    shutdown_grace_s: f64,
    /// Seconds before a request is answered 504.
    #[arg(long, default_value_t = 30.0)]
    timeout_s: f64,
}

pub fn run(args: Args) -> Result<()> {
    let Args {
        models,
        addr,
        grpc_addr,
        max_batch,
        max_delay_ms,
        queue,
        max_body_mib,
        max_frames,
        max_abs_input,
        header_timeout_s,
        body_timeout_s,
        max_connections,
        shutdown_grace_s,
        timeout_s,
    } = args;
    let models = models
        .iter()
        .map(|m| load_model(m))
        .collect::<Result<Vec<_>>>()?;
    let mut config = ServerConfig::default();
    config.max_batch = max_batch;
    config.max_delay = duration(max_delay_ms / 1e3, "--max-delay-ms")?;
    config.queue = queue;
    config.max_body_bytes = max_body_mib << 20;
    config.max_frames = max_frames;
    if !(max_abs_input.is_finite() && max_abs_input > 0.0) {
        anyhow::bail!("--max-abs-input must be a positive number, got {max_abs_input}");
    }
    config.max_abs_input = max_abs_input;
    config.header_timeout = duration(header_timeout_s, "--header-timeout-s")?;
    config.body_timeout = duration(body_timeout_s, "--body-timeout-s")?;
    config.shutdown_grace = duration(shutdown_grace_s, "--shutdown-grace-s")?;
    if config.header_timeout.is_zero() || config.body_timeout.is_zero() || max_connections == 0 {
        anyhow::bail!(
            "--header-timeout-s, --body-timeout-s and --max-connections must be more than 0"
        );
    }
    config.max_connections = max_connections;
    config.request_timeout = duration(timeout_s, "--timeout-s")?;
    if config.request_timeout.is_zero() {
        anyhow::bail!("--timeout-s must be more than 0 (every request would time out)");
    }
    let names: Vec<String> = models.iter().map(|m| m.spec().name().to_string()).collect();
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {addr}"))?;
        let local = listener.local_addr()?;
        let grpc = match grpc_addr {
            Some(a) => Some(
                tokio::net::TcpListener::bind(a)
                    .await
                    .with_context(|| format!("binding {a}"))?,
            ),
            None => None,
        };
        let grpc_line = match &grpc {
            Some(l) => format!(", gRPC on {}", l.local_addr()?),
            None => String::new(),
        };
        // Tests and scripts read this line for the ports (--addr ...:0).
        println!(
            "listening on http://{local}{grpc_line} (models: {})",
            names.join(", ")
        );
        use std::io::Write;
        std::io::stdout().flush()?;
        edgehide_server::serve_with_grpc(
            listener,
            grpc,
            models,
            config,
            edgehide_server::shutdown_signal(),
        )
        .await?;
        println!("stopped");
        Ok(())
    })
}
