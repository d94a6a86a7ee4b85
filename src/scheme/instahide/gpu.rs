//! InstaHide on the GPU through wgpu: the corpus is uploaded once; each batch
//! uploads frames, keys and mask words, runs one dispatch of
//! `shaders/instahide_mix.wgsl` per chunk, and reads the result back.
//!
//! Chunks are sized so that no storage binding exceeds the adapter's limit
//! (128 MiB on lavapipe). Key and mask buffers are cleared on the GPU in the
//! same submission that used them.

use rand_core::Rng;
use wgpu::util::DeviceExt;
use zeroize::Zeroize;

use super::Bound;
use super::key::{OneTimeKey, Slot};
use super::layout::PreparedPool;
use crate::error::{Error, Result};
use crate::gpu::{GpuDevice, gpu_err};
use crate::params::MAX_K;

/// The shader source, validated by naga when the pipeline is made (and by
/// the `shaders_validate` test).
pub const MIX_SHADER: &str = include_str!("../../../shaders/instahide_mix.wgsl");

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Dims {
    channels: u32,
    height: u32,
    width: u32,
    len: u32,
    k: u32,
    frames: u32,
    words: u32,
    span: u32,
    scale: [f32; 4],
    offset: [f32; 4],
}

/// One key in the shader's layout (`struct Key`).
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable, Zeroize)]
struct KeyGpu {
    weights: [f32; MAX_K],
    slots: [Slot; MAX_K - 1],
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct EntryGpu {
    offset: u32,
    width: u32,
    height: u32,
    pad: u32,
}

/// A device with the corpus resident and the pipeline built.
pub(crate) struct GpuEncryptor {
    gpu: GpuDevice,
    pipeline: wgpu::ComputePipeline,
    pool: wgpu::Buffer,
    entries: wgpu::Buffer,
}

impl std::fmt::Debug for GpuEncryptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GpuEncryptor({})", self.gpu.adapter_name())
    }
}

impl GpuEncryptor {
    /// Opens the first suitable adapter (`WGPU_BACKEND` may pick one) and
    /// uploads the corpus. `Err(NoGpu)` when there is no adapter at all.
    pub(crate) fn new(pool: &PreparedPool) -> Result<GpuEncryptor> {
        let gpu = GpuDevice::open()?;
        if pool.bytes.len() as u64 > gpu.max_binding {
            return Err(Error::Gpu(format!(
                "the prepared corpus ({} bytes) exceeds the adapter's storage binding limit ({} bytes)",
                pool.bytes.len(),
                gpu.max_binding
            )));
        }
        let pipeline = gpu.pipeline("instahide_mix", MIX_SHADER)?;
        let scope = gpu.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let pool_buf = gpu
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("pool"),
                contents: &pool.bytes,
                usage: wgpu::BufferUsages::STORAGE,
            });
        let entries: Vec<EntryGpu> = pool
            .entries
            .iter()
            .map(|e| EntryGpu {
                offset: e.offset,
                width: e.width,
                height: e.height,
                pad: 0,
            })
            .collect();
        let entries = gpu
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("entries"),
                contents: bytemuck::cast_slice(&entries),
                usage: wgpu::BufferUsages::STORAGE,
            });
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(gpu_err(e));
        }
        Ok(GpuEncryptor {
            gpu,
            pipeline,
            pool: pool_buf,
            entries,
        })
    }

    pub(crate) fn adapter_name(&self) -> &str {
        self.gpu.adapter_name()
    }

    /// Encrypts frames (each `len` values) with their keys; returns the
    /// concatenated outputs.
    pub(crate) fn encrypt(
        &self,
        frames: &[&[f32]],
        keys: &[OneTimeKey],
        bound: &Bound,
        max_chunk: usize,
    ) -> Result<Vec<f32>> {
        let g = bound.pool.geometry;
        let len = g.len();
        let mut out = Vec::with_capacity(frames.len() * len);
        let chunk = self.gpu.chunk_frames(len).min(max_chunk.max(1));
        for (fs, ks) in frames.chunks(chunk).zip(keys.chunks(chunk)) {
            self.encrypt_chunk(fs, ks, bound, &mut out)?;
        }
        Ok(out)
    }

    fn encrypt_chunk(
        &self,
        frames: &[&[f32]],
        keys: &[OneTimeKey],
        bound: &Bound,
        out: &mut Vec<f32>,
    ) -> Result<()> {
        let (g, affine, k) = (bound.pool.geometry, &bound.affine, bound.binding.k);
        let len = g.len();
        let words = len.div_ceil(32);
        let n = frames.len();
        let (gx, gy, span) = self.gpu.groups(len);
        let dims = Dims {
            channels: g.channels as u32,
            height: g.height as u32,
            width: g.width as u32,
            len: len as u32,
            k: k as u32,
            frames: n as u32,
            words: words as u32,
            span,
            scale: [affine.scale[0], affine.scale[1], affine.scale[2], 0.0],
            offset: [affine.offset[0], affine.offset[1], affine.offset[2], 0.0],
        };

        // Secrets are staged in zeroizing buffers and cleared once queued.
        let mut key_data: Vec<KeyGpu> = keys
            .iter()
            .map(|key| KeyGpu {
                weights: *key.weights_padded(),
                slots: *key.slots_padded(),
            })
            .collect();
        let mut mask_data: Vec<u32> = Vec::with_capacity(n * words);
        for key in keys {
            let mut stream = key.mask_stream();
            mask_data.extend((0..words).map(|_| stream.next_u32()));
        }
        let mut frame_data: Vec<f32> = Vec::with_capacity(n * len);
        for f in frames {
            frame_data.extend_from_slice(f);
        }

        let gpu = &self.gpu;
        let storage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST;
        let dims_buf = gpu
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("dims"),
                contents: bytemuck::bytes_of(&dims),
                usage: wgpu::BufferUsages::UNIFORM,
            });
        let frames_buf = gpu.buffer("frames", frame_data.len() * 4, storage);
        let keys_buf = gpu.buffer(
            "keys",
            key_data.len() * std::mem::size_of::<KeyGpu>(),
            storage,
        );
        let masks_buf = gpu.buffer("masks", mask_data.len() * 4, storage);
        let out_buf = gpu.buffer("out", n * len * 4, storage | wgpu::BufferUsages::COPY_SRC);
        gpu.queue
            .write_buffer(&frames_buf, 0, bytemuck::cast_slice(&frame_data));
        gpu.queue
            .write_buffer(&keys_buf, 0, bytemuck::cast_slice(&key_data));
        gpu.queue
            .write_buffer(&masks_buf, 0, bytemuck::cast_slice(&mask_data));
        key_data.zeroize();
        mask_data.zeroize();
        frame_data.zeroize();

        let bind = gpu.bind(
            &self.pipeline,
            &[
                &dims_buf,
                &self.pool,
                &self.entries,
                &frames_buf,
                &keys_buf,
                &masks_buf,
                &out_buf,
            ],
        );
        gpu.run(
            n * len * 4,
            &out_buf,
            |enc| {
                GpuDevice::dispatch(enc, &self.pipeline, &bind, (gx, gy), n as u32);
                // The private frames, keys and masks leave no copy in GPU memory.
                enc.clear_buffer(&keys_buf, 0, None);
                enc.clear_buffer(&masks_buf, 0, None);
                enc.clear_buffer(&frames_buf, 0, None);
            },
            out,
        )
    }
}
