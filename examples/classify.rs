//! Encrypt-and-classify against a remote Open Inference Protocol server:
//! only the encryption is sent.
//!
//! ```sh
//! target/release/edgehide serve --model models/fashion-mnist-k4.onnx &
//! cargo run --release --example classify -- http://127.0.0.1:8000 photo.png
//! ```

use std::sync::Arc;

use edgehide::client::{Client, ClientConfig};
use edgehide::{
    BackendChoice, Encryptor, FrameRef, ModelSpec, PixelFormat, Preprocessor, PublicPool,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(url), Some(image)) = (args.next(), args.next()) else {
        return Err("usage: classify URL IMAGE".into());
    };
    let spec = ModelSpec::from_json_file("models/fashion-mnist-k4.json".as_ref())?;
    let model = spec.name().to_string();
    let enc = Encryptor::new(spec, &PublicPool::bundled()?, BackendChoice::Auto)?;
    let mut pre = Preprocessor::new(enc.spec());
    let (rgb, w, h) = edgehide::load_image_file(image.as_ref(), &enc.spec().geometry())?;
    // `connect` refuses a server whose model expects another encryption.
    let client = Client::connect(&url, &model, Arc::new(enc), ClientConfig::default())?;

    let frame = FrameRef::packed(&rgb, w, h, PixelFormat::Rgb8)?;
    let answer = client.classify(&pre.run(&frame)?)?; // fresh key, encrypt, send, classify
    println!("{} ({:.0}%)", answer.label(), answer.top[0].2 * 100.0);
    Ok(())
}
