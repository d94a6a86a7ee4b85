//! What every scheme's GPU path shares: opening an adapter, building a
//! compute pipeline from a WGSL file, and one submission's run with its
//! error scopes, readback and timeout. The schemes own their buffers and
//! shaders (`src/scheme/*/gpu.rs`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::error::{Error, Result};

/// Invocations per workgroup in every shader (`@workgroup_size(64)`).
pub(crate) const WORKGROUP: u32 = 64;
const GPU_TIMEOUT: Duration = Duration::from_secs(60);

pub(crate) fn gpu_err(e: impl std::fmt::Display) -> Error {
    Error::Gpu(e.to_string())
}

/// An opened adapter and its limits.
pub(crate) struct GpuDevice {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    /// The largest storage binding (and buffer) the adapter allows.
    pub max_binding: u64,
    pub max_groups: u32,
    adapter_name: String,
    /// Errors the device reports outside an error scope (e.g. device loss).
    uncaptured: Arc<Mutex<Option<String>>>,
}

impl GpuDevice {
    /// Opens the first suitable adapter (`WGPU_BACKEND` may pick one).
    /// `Err(NoGpu)` when there is no adapter at all.
    pub(crate) fn open() -> Result<GpuDevice> {
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
        Ok(GpuDevice {
            device,
            queue,
            max_binding: limits
                .max_storage_buffer_binding_size
                .min(limits.max_buffer_size),
            max_groups: limits.max_compute_workgroups_per_dimension,
            adapter_name,
            uncaptured,
        })
    }

    pub(crate) fn adapter_name(&self) -> &str {
        &self.adapter_name
    }

    /// A pipeline for the entry point `main` of `source`; validation errors
    /// (naga's) come back as `Err`, not as a panic.
    pub(crate) fn pipeline(&self, label: &str, source: &str) -> Result<wgpu::ComputePipeline> {
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = self
            .device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(label),
                source: wgpu::ShaderSource::Wgsl(source.into()),
            });
        let pipeline = self
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(label),
                layout: None,
                module: &module,
                entry_point: Some("main"),
                compilation_options: Default::default(),
                cache: None,
            });
        match pollster::block_on(scope.pop()) {
            Some(e) => Err(gpu_err(e)),
            None => Ok(pipeline),
        }
    }

    /// A buffer of `size` bytes.
    pub(crate) fn buffer(
        &self,
        label: &str,
        size: usize,
        usage: wgpu::BufferUsages,
    ) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: size as u64,
            usage,
            mapped_at_creation: false,
        })
    }

    /// Workgroups for `len` invocations per frame: (x, y) with x within the
    /// adapter's limit, and the x extent in invocations (`span`).
    pub(crate) fn groups(&self, len: usize) -> (u32, u32, u32) {
        let groups = (len as u32).div_ceil(WORKGROUP);
        let gx = groups.min(self.max_groups);
        (gx, groups.div_ceil(gx), gx * WORKGROUP)
    }

    /// Frames per dispatch so that a binding of `len` f32 per frame stays
    /// under the adapter's limit.
    pub(crate) fn chunk_frames(&self, len: usize) -> usize {
        let per_frame = (len * 4) as u64;
        ((self.max_binding / per_frame) as usize).clamp(1, self.max_groups as usize)
    }

    /// Runs the commands `record` adds to an encoder (inside validation and
    /// out-of-memory scopes), then copies `out` (`bytes` long) back and
    /// appends it to `dest` as f32. `record` must clear every secret buffer
    /// after its dispatch; `out` is cleared here once copied.
    pub(crate) fn run(
        &self,
        bytes: usize,
        out: &wgpu::Buffer,
        record: impl FnOnce(&mut wgpu::CommandEncoder),
        dest: &mut Vec<f32>,
    ) -> Result<()> {
        let d = &self.device;
        let scope = d.push_error_scope(wgpu::ErrorFilter::Validation);
        let oom = d.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let readback = self.buffer(
            "readback",
            bytes,
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        );
        let mut enc = d.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("edgehide"),
        });
        record(&mut enc);
        enc.copy_buffer_to_buffer(out, 0, &readback, 0, bytes as u64);
        enc.clear_buffer(out, 0, None);
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
            dest.extend_from_slice(bytemuck::cast_slice(&view));
        }
        readback.unmap();
        Ok(())
    }

    /// One bind group of `buffers` at bindings 0, 1, ... of `pipeline`.
    pub(crate) fn bind(
        &self,
        pipeline: &wgpu::ComputePipeline,
        buffers: &[&wgpu::Buffer],
    ) -> wgpu::BindGroup {
        let entries: Vec<wgpu::BindGroupEntry<'_>> = buffers
            .iter()
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource: b.as_entire_binding(),
            })
            .collect();
        self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        })
    }

    /// Records one dispatch of `pipeline` over `groups` x `frames`.
    pub(crate) fn dispatch(
        enc: &mut wgpu::CommandEncoder,
        pipeline: &wgpu::ComputePipeline,
        bind: &wgpu::BindGroup,
        (gx, gy): (u32, u32),
        frames: u32,
    ) {
        let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: None,
            timestamp_writes: None,
        });
        pass.set_pipeline(pipeline);
        pass.set_bind_group(0, bind, &[]);
        pass.dispatch_workgroups(gx, gy, frames);
    }
}
