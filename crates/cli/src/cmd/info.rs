//! `edgehide info`: the backend an encryptor would use here, and whether
//! this build carries test-only access.

use anyhow::Result;
use edgehide::{BackendChoice, Encryptor, ModelSpec, PublicPool};

pub fn run() -> Result<()> {
    let enc = Encryptor::new(
        ModelSpec::fashion_mnist(),
        &PublicPool::bundled()?,
        BackendChoice::Auto,
    )?;
    println!("backend: {}", enc.backend());
    if let Some(why) = enc.fallback_reason() {
        println!("GPU fallback reason: {why}");
    }
    // A product build must say "absent"; CI checks the release binary.
    println!(
        "hazmat (test keys and internals): {}",
        if edgehide::HAZMAT {
            "PRESENT (test or lab build)"
        } else {
            "absent"
        }
    );
    Ok(())
}
