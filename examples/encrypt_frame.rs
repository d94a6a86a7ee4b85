//! The device side in a few lines: preprocess a camera frame, encrypt it
//! with a fresh one-time key, and look at what would leave the device.
//!
//! ```sh
//! cargo run --release --example encrypt_frame [-- models/fashion-mnist-k4.json]
//! ```

use edgehide::{
    BackendChoice, Encryptor, FrameRef, ModelSpec, PixelFormat, Preprocessor, PublicPool,
};

fn main() -> edgehide::Result<()> {
    let sidecar = std::env::args().nth(1);
    let sidecar = sidecar.as_deref().unwrap_or("models/fashion-mnist-k4.json");
    // The model's sidecar and the corpus it was trained with.
    let spec = ModelSpec::from_json_file(sidecar.as_ref())?;
    let enc = Encryptor::new(spec, &PublicPool::bundled()?, BackendChoice::Auto)?;
    let mut pre = Preprocessor::new(enc.spec());

    // A 640x480 BGRA camera frame whose rows are 2,560 bytes apart.
    let (width, height, stride) = (640u32, 480u32, 2560usize);
    let pixels: Vec<u8> = (0..stride * height as usize)
        .map(|i| (i % 251) as u8)
        .collect();
    let frame = FrameRef::new(&pixels, width, height, stride, PixelFormat::Bgra8)?;

    let encryption = enc.encrypt_fresh(&pre.run(&frame)?)?; // a fresh OneTimeKey, consumed
    println!(
        "backend: {}{}",
        enc.backend(),
        enc.fallback_reason()
            .map(|why| format!(" (GPU unavailable: {why})"))
            .unwrap_or_default()
    );
    println!(
        "encryption: {:?} f32 values, scheme {} with k={}; no key material",
        encryption.shape(),
        encryption.meta().scheme,
        encryption.meta().k
    );
    Ok(())
}
