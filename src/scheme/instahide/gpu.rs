//! InstaHide on the GPU through wgpu: the corpus is uploaded once; each batch
//! uploads frames, keys and mask words, runs one dispatch of
//! `shaders/instahide_mix.wgsl` per chunk, and reads the result back.
//!
//! Chunks are sized so that no storage binding exceeds the adapter's limit
//! (128 MiB on lavapipe). Key and mask buffers are cleared on the GPU in the
//! same submission that used them.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand_core::Rng;
use wgpu::util::DeviceExt;
use zeroize::Zeroize;

use super::Bound;
use super::key::{OneTimeKey, Slot};
use super::layout::PreparedPool;
use crate::error::{Error, Result};
use crate::params::MAX_K;

/// The shader source, validated by naga when the pipeline is made (and by
/// the `shaders_validate` test).
pub const MIX_SHADER: &str = include_str!("../../../shaders/instahide_mix.wgsl");

const WORKGROUP: u32 = 64;
const GPU_TIMEOUT: Duration = Duration::from_secs(60);

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
    device: wgpu::Device,
    queue: wgpu::Queue,
    pipeline: wgpu::ComputePipeline,
    pool: wgpu::Buffer,
    entries: wgpu::Buffer,
    max_binding: u64,
    max_groups: u32,
    adapter_name: String,
    /// Errors the device reports outside an error scope (e.g. device loss).
    uncaptured: Arc<Mutex<Option<String>>>,
}

impl std::fmt::Debug for GpuEncryptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GpuEncryptor({})", self.adapter_name)
    }
}

fn gpu_err(e: impl std::fmt::Display) -> Error {
    Error::Gpu(e.to_string())
}

impl GpuEncryptor {
    /// Opens the first suitable adapter (`WGPU_BACKEND` may pick one) and
    /// uploads the corpus. `Err(NoGpu)` when there is no adapter at all.
    pub(crate) fn new(pool: &PreparedPool) -> Result<GpuEncryptor> {
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
        if std::env::var_os("WGPU_BACKEND").is_none() {
            desc.backends = wgpu::Backends::PRIMARY;
        }
        let instance = wgpu::Instance::new(desc);
        let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            ..Default::default()
        }))
        .map_err(|e| Error::NoGpu(e.to_string()))?;
        let info = adapter.get_info();
        let adapter_name = format!("{} ({:?})", info.name, info.backend);
        let limits = adapter.limits();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("edgehide"),
            required_limits: limits.clone(),
            ..Default::default()
        }))
        .map_err(gpu_err)?;
        let uncaptured = Arc::new(Mutex::new(None));
        let sink = uncaptured.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            if let Ok(mut slot) = sink.lock() {
                slot.get_or_insert_with(|| e.to_string());
            }
        }));

        let max_binding = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        if pool.bytes.len() as u64 > max_binding {
            return Err(Error::Gpu(format!(
                "the prepared corpus ({} bytes) exceeds the adapter's storage binding limit ({max_binding} bytes)",
                pool.bytes.len()
            )));
        }
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("instahide_mix"),
            source: wgpu::ShaderSource::Wgsl(MIX_SHADER.into()),
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("instahide_mix"),
            layout: None,
            module: &module,
            entry_point: Some("main"),
            compilation_options: Default::default(),
            cache: None,
        });
        let pool_buf = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
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
        let entries = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("entries"),
            contents: bytemuck::cast_slice(&entries),
            usage: wgpu::BufferUsages::STORAGE,
        });
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(gpu_err(e));
        }
        Ok(GpuEncryptor {
            device,
            queue,
            pipeline,
            pool: pool_buf,
            entries,
            max_binding,
            max_groups: limits.max_compute_workgroups_per_dimension,
            adapter_name,
            uncaptured,
        })
    }

    pub(crate) fn adapter_name(&self) -> &str {
        &self.adapter_name
    }

    /// Frames per dispatch so that every binding stays under the limit.
    fn chunk_frames(&self, len: usize) -> usize {
        let per_frame = (len * 4) as u64;
        ((self.max_binding / per_frame) as usize).clamp(1, self.max_groups as usize)
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
        let chunk = self.chunk_frames(len).min(max_chunk.max(1));
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
        let groups = (len as u32).div_ceil(WORKGROUP);
        let gx = groups.min(self.max_groups);
        let gy = groups.div_ceil(gx);
        let dims = Dims {
            channels: g.channels as u32,
            height: g.height as u32,
            width: g.width as u32,
            len: len as u32,
            k: k as u32,
            frames: n as u32,
            words: words as u32,
            span: gx * WORKGROUP,
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

        let d = &self.device;
        let scope = d.push_error_scope(wgpu::ErrorFilter::Validation);
        let oom = d.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let storage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST;
        let mk = |label, size: usize, usage| {
            d.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: size as u64,
                usage,
                mapped_at_creation: false,
            })
        };
        let dims_buf = d.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("dims"),
            contents: bytemuck::bytes_of(&dims),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let frames_buf = mk("frames", frame_data.len() * 4, storage);
        let keys_buf = mk(
            "keys",
            key_data.len() * std::mem::size_of::<KeyGpu>(),
            storage,
        );
        let masks_buf = mk("masks", mask_data.len() * 4, storage);
        let out_buf = mk("out", n * len * 4, storage | wgpu::BufferUsages::COPY_SRC);
        let readback = mk(
            "readback",
            n * len * 4,
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        );
        self.queue
            .write_buffer(&frames_buf, 0, bytemuck::cast_slice(&frame_data));
        self.queue
            .write_buffer(&keys_buf, 0, bytemuck::cast_slice(&key_data));
        self.queue
            .write_buffer(&masks_buf, 0, bytemuck::cast_slice(&mask_data));
        key_data.zeroize();
        mask_data.zeroize();
        frame_data.zeroize();

        let layout = self.pipeline.get_bind_group_layout(0);
        let bind = d.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("instahide_mix"),
            layout: &layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: dims_buf.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: self.pool.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: self.entries.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 3,
                    resource: frames_buf.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 4,
                    resource: keys_buf.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 5,
                    resource: masks_buf.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 6,
                    resource: out_buf.as_entire_binding(),
                },
            ],
        });
        let mut enc = d.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("instahide"),
        });
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("mix"),
                timestamp_writes: None,
            });
            pass.set_pipeline(&self.pipeline);
            pass.set_bind_group(0, &bind, &[]);
            pass.dispatch_workgroups(gx, gy, n as u32);
        }
        // The private frames, keys and masks leave no copy in GPU memory.
        enc.clear_buffer(&keys_buf, 0, None);
        enc.clear_buffer(&masks_buf, 0, None);
        enc.clear_buffer(&frames_buf, 0, None);
        enc.copy_buffer_to_buffer(&out_buf, 0, &readback, 0, (n * len * 4) as u64);
        enc.clear_buffer(&out_buf, 0, None);
        let index = self.queue.submit([enc.finish()]);

        let (tx, rx) = std::sync::mpsc::channel();
        readback.slice(..).map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        // Validation errors surface when the scopes pop; check them before
        // waiting on a submission that may never have been accepted.
        if let Some(e) = pollster::block_on(oom.pop()) {
            return Err(gpu_err(e));
        }
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(gpu_err(e));
        }
        d.poll(wgpu::PollType::Wait {
            submission_index: Some(index),
            timeout: Some(GPU_TIMEOUT),
        })
        .map_err(gpu_err)?;
        if let Some(e) = self.uncaptured.lock().ok().and_then(|mut s| s.take()) {
            return Err(Error::Gpu(e));
        }
        rx.recv_timeout(GPU_TIMEOUT)
            .map_err(|_| Error::Gpu("readback did not complete".into()))?
            .map_err(gpu_err)?;
        {
            let view = readback.get_mapped_range(..).map_err(gpu_err)?;
            out.extend_from_slice(bytemuck::cast_slice(&view));
        }
        readback.unmap();
        Ok(())
    }
}
