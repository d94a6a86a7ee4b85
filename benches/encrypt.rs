//! Per-frame encryption cost at k=4, CPU and GPU, beside the memory-copy
//! floor; preprocessing of a 1920x1080 RGBA camera frame on its own; and a
//! 1920x1080 NV12 camera frame preprocessed, and preprocessed and encrypted,
//! beside OpenCV doing the same preprocessing (benches/peer_opencv.py, run
//! at the end of a `cargo bench` run). Results and the command:
//! benches/RESULTS.md.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use edgehide::hazmat::EncryptorHazmat;
use edgehide::{
    BackendChoice, Encryptor, FrameRef, ModelSpec, PixelFormat, PlainTensor, Preprocessor,
    PublicPool, YuvFrame,
};

fn input(spec: &ModelSpec) -> PlainTensor {
    let (w, h) = (640u32, 480u32);
    let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 31 % 251) as u8).collect();
    edgehide::hazmat::preprocess(
        &FrameRef::packed(&rgb, w, h, PixelFormat::Rgb8).unwrap(),
        spec,
    )
    .unwrap()
}

fn bench_geometry(c: &mut Criterion, name: &str, spec: ModelSpec, pool: &PublicPool) {
    let x = input(&spec);
    let len = x.data().len();
    let cpu = Encryptor::new(spec.clone(), pool, BackendChoice::Cpu).unwrap();
    let gpu = Encryptor::new(spec.clone(), pool, BackendChoice::Gpu).ok();
    let mut g = c.benchmark_group(format!("encrypt_{name}"));
    g.throughput(Throughput::Elements(1));

    // The floor: reading the frame and writing the output once.
    let src = x.data().to_vec();
    let mut dst = vec![0f32; len];
    g.bench_function("memcpy_floor", |b| {
        b.iter(|| dst.copy_from_slice(black_box(&src)))
    });

    g.bench_function("key_generation", |b| {
        b.iter(|| black_box(cpu.new_key().unwrap()))
    });

    let mut out = vec![0f32; len];
    g.bench_function("cpu_fast_single", |b| {
        b.iter_batched(
            || cpu.new_key().unwrap(),
            |key| cpu.encrypt_cpu_into(&x, key, &mut out).unwrap(),
            BatchSize::SmallInput,
        )
    });
    // The same split in two: the key's half ahead of the frame (crops mixed
    // into a pad, mask expanded), then the frame's pass.
    g.bench_function("prepare_key", |b| {
        b.iter_batched(
            || cpu.new_key().unwrap(),
            |key| black_box(cpu.prepare_key(key).unwrap()),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("prepared_frame_pass", |b| {
        b.iter_batched(
            || cpu.prepare().unwrap(),
            |key| cpu.encrypt_prepared_into(&x, key, &mut out).unwrap(),
            BatchSize::SmallInput,
        )
    });
    // The same with cold caches, as in a client between requests: the
    // setup (not timed) streams through 64 MiB first.
    let mut evict = vec![0u8; 64 << 20];
    g.bench_function("cpu_fast_single_cold", |b| {
        b.iter_batched(
            || {
                for (i, v) in evict.iter_mut().enumerate().step_by(64) {
                    *v = v.wrapping_add(i as u8);
                }
                black_box(&evict);
                cpu.new_key().unwrap()
            },
            |key| cpu.encrypt_cpu_into(&x, key, &mut out).unwrap(),
            BatchSize::PerIteration,
        )
    });
    g.bench_function("cpu_reference_single", |b| {
        b.iter_batched(
            || cpu.new_key().unwrap(),
            |key| black_box(cpu.encrypt_reference(&x, key).unwrap()),
            BatchSize::SmallInput,
        )
    });

    let xs: Vec<PlainTensor> = (0..64)
        .map(|_| PlainTensor::new(x.geometry(), x.data().to_vec()).unwrap())
        .collect();
    g.throughput(Throughput::Elements(64));
    g.bench_function("cpu_fast_batch64", |b| {
        b.iter_batched(
            || (0..64).map(|_| cpu.new_key().unwrap()).collect::<Vec<_>>(),
            |keys| black_box(cpu.encrypt_batch(&xs, keys).unwrap()),
            BatchSize::SmallInput,
        )
    });
    if let Some(gpu) = &gpu {
        g.throughput(Throughput::Elements(1));
        g.bench_function("gpu_single", |b| {
            b.iter_batched(
                || gpu.new_key().unwrap(),
                |key| black_box(gpu.encrypt(&x, key).unwrap()),
                BatchSize::SmallInput,
            )
        });
        g.throughput(Throughput::Elements(64));
        g.bench_function("gpu_batch64", |b| {
            b.iter_batched(
                || (0..64).map(|_| gpu.new_key().unwrap()).collect::<Vec<_>>(),
                |keys| black_box(gpu.encrypt_batch(&xs, keys).unwrap()),
                BatchSize::SmallInput,
            )
        });
    } else {
        eprintln!("no GPU adapter: GPU benches skipped");
    }
    g.finish();
}

fn encrypt(c: &mut Criterion) {
    let pool = PublicPool::bundled().unwrap();
    bench_geometry(c, "28x28x1", ModelSpec::fashion_mnist(), &pool);
    bench_geometry(c, "224x224x3", ModelSpec::imagenet_224(), &pool);
}

/// DisguisedNets beside InstaHide's fast path on the same frame: the
/// reference, the fast path (one thread), fresh noise, the GPU.
fn disguise(c: &mut Criterion) {
    for (name, spec, block) in [
        ("28x28x1", ModelSpec::fashion_mnist(), 4),
        ("224x224x3", ModelSpec::imagenet_224(), 8),
    ] {
        let x = input(&spec);
        let mut g = c.benchmark_group(format!("disguise_{name}"));
        g.throughput(Throughput::Elements(1));
        let open = |noise: f64, backend| {
            let d = edgehide::DisguiseParams {
                block,
                noise,
                key_id: None,
            };
            let key = edgehide::DisguiseKey::generate(block, spec.geometry()).unwrap();
            Encryptor::with_key(spec.with_disguise(d).unwrap(), key, backend)
        };
        let cpu = open(0.0, BackendChoice::Cpu).unwrap();
        let noisy = open(0.5, BackendChoice::Cpu).unwrap();
        let mut out = vec![0f32; x.data().len()];
        let one = std::slice::from_ref(&x);
        g.bench_function("cpu_fast_single", |b| {
            b.iter(|| cpu.encrypt_fresh_into(one, &mut out).unwrap())
        });
        g.bench_function("cpu_fast_single_noise", |b| {
            b.iter(|| noisy.encrypt_fresh_into(one, &mut out).unwrap())
        });
        g.bench_function("cpu_reference_single", |b| {
            b.iter(|| black_box(cpu.disguise_reference(&x, [0; 32]).unwrap()))
        });
        let ih = Encryptor::new(
            spec.clone(),
            &PublicPool::bundled().unwrap(),
            BackendChoice::Cpu,
        )
        .unwrap();
        g.bench_function("instahide_cpu_fast_single", |b| {
            b.iter_batched(
                || ih.new_key().unwrap(),
                |key| ih.encrypt_cpu_into(&x, key, &mut out).unwrap(),
                BatchSize::SmallInput,
            )
        });
        if let Ok(gpu) = open(0.0, BackendChoice::Gpu) {
            g.bench_function("gpu_single", |b| {
                b.iter(|| black_box(gpu.encrypt_fresh(&x).unwrap()))
            });
        }
        g.finish();
    }
}

fn preprocess(c: &mut Criterion) {
    let (w, h) = (1920u32, 1080u32);
    let rgba: Vec<u8> = (0..w * h * 4).map(|i| (i * 13 % 251) as u8).collect();
    let frame = FrameRef::packed(&rgba, w, h, PixelFormat::Rgba8).unwrap();
    let mut g = c.benchmark_group("preprocess_1920x1080_rgba");
    for spec in [ModelSpec::imagenet_224(), ModelSpec::fashion_mnist()] {
        let mut pre = Preprocessor::new(&spec);
        let gm = spec.geometry();
        g.bench_function(
            format!("to_{}x{}x{}", gm.height, gm.width, gm.channels),
            |b| b.iter(|| black_box(pre.run(&frame).unwrap())),
        );
    }
    g.finish();
}

/// A 1920x1080 NV12 camera frame (the peer makes the same bytes).
fn nv12_1080p() -> Vec<u8> {
    (0..1920u32 * 1080 * 3 / 2)
        .map(|i| (i * 13 % 251) as u8)
        .collect()
}

fn camera(c: &mut Criterion) {
    let (w, h) = (1920u32, 1080u32);
    let bytes = nv12_1080p();
    let (y, uv) = bytes.split_at((w * h) as usize);
    let frame = YuvFrame::nv12(w, h, y, w as usize, uv, w as usize).unwrap();
    let pool = PublicPool::bundled().unwrap();
    let mut g = c.benchmark_group("camera_1920x1080_nv12");
    for spec in [ModelSpec::imagenet_224(), ModelSpec::fashion_mnist()] {
        let gm = spec.geometry();
        let name = format!("{}x{}x{}", gm.height, gm.width, gm.channels);
        let mut pre = Preprocessor::new(&spec);
        g.bench_function(format!("to_{name}"), |b| {
            b.iter(|| black_box(pre.run_yuv(&frame).unwrap()))
        });
        let enc = Encryptor::new(spec.clone(), &pool, BackendChoice::Cpu).unwrap();
        let mut out = vec![0f32; gm.len()];
        g.bench_function(format!("to_{name}_and_encrypt"), |b| {
            b.iter_batched(
                || enc.new_key().unwrap(),
                |key| {
                    let x = pre.run_yuv(&frame).unwrap();
                    enc.encrypt_cpu_into(&x, key, &mut out).unwrap()
                },
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
    // OpenCV on the same frame, in the same run (not in `cargo test`'s
    // one-pass smoke run).
    if std::env::args().any(|a| a == "--bench") {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        match std::process::Command::new(root.join(".venv/bin/python"))
            .arg(root.join("benches/peer_opencv.py"))
            .output()
        {
            Ok(out) if out.status.success() => print!("{}", String::from_utf8_lossy(&out.stdout)),
            _ => eprintln!("OpenCV peer skipped: .venv lacks cv2 (scripts/install-deps.sh)"),
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).warm_up_time(std::time::Duration::from_millis(500)).measurement_time(std::time::Duration::from_secs(2));
    targets = encrypt, disguise, preprocess, camera
}
criterion_main!(benches);
