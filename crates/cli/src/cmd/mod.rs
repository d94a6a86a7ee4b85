//! One module per subcommand.

pub mod dataset;
pub mod demo;
pub mod encrypt;
pub mod eval;
pub mod info;
pub mod lab;
pub mod pool;
pub mod serve;
pub mod spec;
