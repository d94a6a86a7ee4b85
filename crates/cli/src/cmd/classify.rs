//! `edgehide classify`: encrypt pictures here, classify them on a server of
//! the Open Inference Protocol (edgehide's, Triton, KServe, MLServer).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use edgehide::client::{Client, ClientConfig, Encoding, Protocol, SpecSource};
use edgehide::{BackendChoice, FrameRef, ModelSpec, PixelFormat, Preprocessor};

use crate::common::encryptor;

/// Encrypt each picture with a fresh key and classify the encryption on a
/// remote server; prints one line per picture: file, label, probability.
/// An `.npy` file is taken as an encryption saved by `edgehide encrypt`
/// with the same spec, and sent as it is (the same encryption can so be
/// classified on several servers).
#[derive(clap::Args)]
pub struct Args {
    /// The server's base URL (http://HOST:PORT, or https for REST).
    #[arg(long)]
    server: String,
    /// The protocol's REST binding, or its gRPC service (the server's gRPC
    /// port: edgehide serve --grpc-addr, Triton's 8001, KServe's 8081).
    #[arg(long, default_value = "rest", value_parser = parse_protocol)]
    protocol: Protocol,
    /// The model's name on the server.
    #[arg(long)]
    model: String,
    /// The model's sidecar, as shipped with the app.
    #[arg(long)]
    spec: PathBuf,
    /// The public corpus (default: the bundled photo corpus).
    #[arg(long)]
    pool: Option<PathBuf>,
    /// The deployment key of a DisguisedNets model (its key file).
    #[arg(long)]
    key: Option<PathBuf>,
    /// How tensors travel: binary where the server takes it (auto), or
    /// always binary, or always JSON.
    #[arg(long, default_value = "auto", value_parser = parse_encoding)]
    encoding: Encoding,
    #[arg(long, default_value = "auto")]
    backend: BackendChoice,
    /// Seconds per request before giving up.
    #[arg(long, default_value_t = 10.0)]
    timeout_s: f64,
    /// Pictures (PNG, JPEG) or saved encryptions (.npy).
    #[arg(required = true)]
    images: Vec<PathBuf>,
}

fn parse_protocol(s: &str) -> Result<Protocol, String> {
    match s {
        "rest" => Ok(Protocol::Rest),
        "grpc" => Ok(Protocol::Grpc),
        other => Err(format!("{other:?}: rest or grpc")),
    }
}

fn parse_encoding(s: &str) -> Result<Encoding, String> {
    match s {
        "auto" => Ok(Encoding::Auto),
        "binary" => Ok(Encoding::Binary),
        "json" => Ok(Encoding::Json),
        other => Err(format!("{other:?}: auto, binary or json")),
    }
}

pub fn run(args: Args) -> Result<()> {
    let spec = ModelSpec::from_json_file(&args.spec)?;
    let enc = encryptor(
        spec,
        args.pool.as_deref(),
        args.key.as_deref(),
        args.backend,
    )?;
    let mut pre = Preprocessor::new(enc.spec());
    let geometry = enc.spec().geometry();
    let mut config = ClientConfig::default();
    config.encoding = args.encoding;
    config.protocol = args.protocol;
    config.timeout = crate::common::duration(args.timeout_s, "--timeout-s")?;
    let client = Client::connect(&args.server, &args.model, Arc::new(enc), config)
        .with_context(|| format!("{} model {:?}", args.server, args.model))?;
    let checked = match client.spec_source() {
        SpecSource::Metadata => "the server's announced spec matches",
        SpecSource::Config => "the model configuration's spec matches",
        _ => "the server announces no spec: its input tensor matches the local one",
    };
    eprintln!(
        "{} model {:?}: {checked}; tensors as {:?}",
        args.server,
        args.model,
        client.encoding()
    );
    for path in &args.images {
        let answer = if path.extension().is_some_and(|e| e == "npy") {
            let tensor = edgehide_lab::npy::read_f32(path, &geometry.shape())?;
            client.classify_tensors(&tensor, 1).map(|mut a| a.remove(0))
        } else {
            let (rgb, w, h) = edgehide::load_image_file(path, &geometry)?;
            let frame = pre.run(&FrameRef::packed(&rgb, w, h, PixelFormat::Rgb8)?)?;
            client.classify(&frame)
        }
        .with_context(|| format!("{}", path.display()))?;
        println!(
            "{}\t{}\t{:.3}",
            path.display(),
            answer.label(),
            answer.top.first().map_or(0.0, |t| t.2)
        );
    }
    Ok(())
}
