//! One module per subcommand.

pub mod classify;
pub mod dataset;
pub mod demo;
pub mod encrypt;
pub mod eval;
pub mod export;
pub mod info;
pub mod lab;
pub mod pool;
pub mod sensor;
pub mod serve;
pub mod spec;
