//! The edgehide command line: a thin layer over the library, one module per
//! subcommand.

mod cmd;
mod common;
mod sensor;

use std::ffi::OsString;

use anyhow::Result;
use clap::{Parser, Subcommand};

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
    Encrypt(cmd::encrypt::Args),
    /// Build or inspect public corpora.
    Pool {
        #[command(subcommand)]
        command: cmd::pool::Command,
    },
    /// Labelled datasets: encrypt a split for training or evaluation.
    Dataset {
        #[command(subcommand)]
        command: cmd::dataset::Command,
    },
    /// Write a model sidecar (a dataset's geometry and normalisation with the
    /// given encryption parameters, bound to a corpus's fingerprint).
    Spec(cmd::spec::Args),
    /// Accuracy of a model on encryptions of a test set, through the full
    /// client pipeline (fresh key per image, ONNX Runtime inference).
    Eval(cmd::eval::Args),
    /// Serve models over the Open Inference Protocol (KServe v2 REST) with
    /// dynamic batching, until SIGTERM or Ctrl-C.
    Serve(cmd::serve::Args),
    Classify(cmd::classify::Args),
    Sensor(cmd::sensor::Args),
    Export(cmd::export::Args),
    /// Attacks on our own encryptions (what they leak, against what the
    /// label alone gives); run by the edgehide-lab binary (`edgehide attack
    /// --help` lists them).
    #[command(disable_help_flag = true)]
    Attack {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Show the backend an encryptor would use here.
    Info,
    /// The end-to-end demo on the embedded defaults (bundled corpus,
    /// Fashion-MNIST geometry): encrypt frames and picture what leaves the device.
    Demo(cmd::demo::Args),
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
    // ONNX Runtime records usage in the home folder unless told not to
    // (edgehide_server::Runtime explains); told here, before any thread.
    if std::env::var_os("ORT_DISABLE_TELEMETRY").is_none() {
        // SAFETY: as above.
        unsafe { std::env::set_var("ORT_DISABLE_TELEMETRY", "1") };
    }
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    if let Err(e) = run(Cli::parse()) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Encrypt(args) => cmd::encrypt::run(args),
        Command::Pool {
            command: cmd::pool::Command::Precut { .. },
        } => cmd::lab::forward(std::env::args_os().skip(1).collect()),
        Command::Pool { command } => cmd::pool::run(command),
        Command::Dataset { command } => cmd::dataset::run(command),
        Command::Spec(args) => cmd::spec::run(args),
        Command::Eval(args) => cmd::eval::run(args),
        Command::Serve(args) => cmd::serve::run(args),
        Command::Classify(args) => cmd::classify::run(args),
        Command::Sensor(args) => cmd::sensor::run(args),
        Command::Export(args) => cmd::export::run(args),
        Command::Attack { args } => {
            cmd::lab::forward(std::iter::once("attack".into()).chain(args).collect())
        }
        Command::Info => cmd::info::run(),
        Command::Demo(args) => cmd::demo::run(args),
    }
}
