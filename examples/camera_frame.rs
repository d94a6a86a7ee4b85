//! Camera-native frames, read in place: an AVFoundation `420f` (NV12, full
//! range) frame from a phone held upright (the sensor is turned a quarter),
//! and a CameraX `YUV_420_888` frame with interleaved chroma.
//!
//! ```sh
//! cargo run --release --example camera_frame
//! ```

use edgehide::{
    BackendChoice, ColorRange, Encryptor, ModelSpec, Orientation, Plane, Preprocessor, PublicPool,
    Rotation, YuvFrame,
};

fn main() -> edgehide::Result<()> {
    let spec = ModelSpec::from_json_file("models/fashion-mnist-k4.json".as_ref())?;
    let enc = Encryptor::new(spec, &PublicPool::bundled()?, BackendChoice::Auto)?;
    let mut pre = Preprocessor::new(enc.spec());

    // NV12 as AVFoundation hands it over: each plane with its bytes per row.
    let (w, h, y_row_bytes, cbcr_row_bytes) = (1920u32, 1080u32, 1984usize, 1984usize);
    let y = vec![120u8; y_row_bytes * h as usize];
    let cbcr = vec![128u8; cbcr_row_bytes * h as usize / 2];
    let frame = YuvFrame::nv12(w, h, &y, y_row_bytes, &cbcr, cbcr_row_bytes)?
        .with_range(ColorRange::Full)
        .with_orientation(Orientation {
            rotation: Rotation::R90,
            mirror: false,
        });
    let e = enc.encrypt_fresh(&pre.run_yuv(&frame)?)?;
    println!("420f frame -> encryption {:?}", e.shape());

    // YUV_420_888 as CameraX hands it over: U and V interleave (pixel stride 2).
    let (w, h, stride) = (640u32, 480u32, 640usize);
    let (y, uv) = (vec![90u8; stride * 480], vec![128u8; stride * 240]);
    let frame = YuvFrame::yuv_420_888(
        w,
        h,
        Plane::new(&y, stride, 1),
        Plane::new(&uv, stride, 2),
        Plane::new(&uv[1..], stride, 2),
    )?;
    let e = enc.encrypt_fresh(&pre.run_yuv(&frame)?)?;
    println!("YUV_420_888 frame -> encryption {:?}", e.shape());
    Ok(())
}
