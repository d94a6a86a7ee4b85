//! The only source of randomness in edgehide: a 256-bit seed from the
//! operating system, expanded by ChaCha20.

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use zeroize::Zeroize;

use crate::error::{Error, Result};

/// A ChaCha20 generator seeded with 32 fresh bytes from the OS. One is made
/// per key, so no generator state outlives the frame it served and a forked
/// process can never replay another's stream.
pub(crate) fn os_seeded() -> Result<ChaCha20Rng> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| Error::Entropy(e.to_string()))?;
    let rng = ChaCha20Rng::from_seed(seed);
    seed.zeroize();
    Ok(rng)
}
