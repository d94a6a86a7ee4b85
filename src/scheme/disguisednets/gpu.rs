//! DisguisedNets on the GPU: the expanded key (matrices and permutation) is
//! uploaded once and cleared on the GPU when the encryptor is dropped; each
//! batch uploads frames and noise, runs `shaders/disguise_blocks.wgsl` per
//! chunk, and reads the result back.

use wgpu::util::DeviceExt;
use zeroize::Zeroize;

use super::key::Transform;
use crate::error::Result;
use crate::gpu::{GpuDevice, gpu_err};

/// The shader source, validated by naga when the pipeline is made (and by
/// the `shaders_validate` test).
pub const DISGUISE_SHADER: &str = include_str!("../../../shaders/disguise_blocks.wgsl");

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Dims {
    height: u32,
    width: u32,
    len: u32,
    block: u32,
    cols: u32,
    frames: u32,
    span: u32,
    noisy: u32,
}

/// A device with the deployment key resident and the pipeline built.
pub(crate) struct GpuDisguiser {
    gpu: GpuDevice,
    pipeline: wgpu::ComputePipeline,
    matrices: wgpu::Buffer,
    source: wgpu::Buffer,
}

impl GpuDisguiser {
    pub(crate) fn new(t: &Transform) -> Result<GpuDisguiser> {
        let gpu = GpuDevice::open()?;
        let pipeline = gpu.pipeline("disguise_blocks", DISGUISE_SHADER)?;
        let scope = gpu.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let upload = |label, bytes: &[u8]| {
            gpu.device
                .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some(label),
                    contents: bytes,
                    usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
                })
        };
        let matrices = upload("matrices", bytemuck::cast_slice(&t.matrices));
        let source = upload("source", bytemuck::cast_slice(&t.source));
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(gpu_err(e));
        }
        Ok(GpuDisguiser {
            gpu,
            pipeline,
            matrices,
            source,
        })
    }

    pub(crate) fn adapter_name(&self) -> &str {
        self.gpu.adapter_name()
    }

    /// Disguises frames (each `len` values), adding `noise` (`len` per
    /// frame) when given; returns the concatenated outputs.
    pub(crate) fn disguise(
        &self,
        t: &Transform,
        frames: &[&[f32]],
        noise: Option<&[f32]>,
        max_chunk: usize,
    ) -> Result<Vec<f32>> {
        let len = frames.first().map_or(0, |f| f.len());
        let mut out = Vec::with_capacity(frames.len() * len);
        let chunk = self.gpu.chunk_frames(len.max(1)).min(max_chunk.max(1));
        for (i, fs) in frames.chunks(chunk).enumerate() {
            let noise = noise.map(|n| &n[i * chunk * len..][..fs.len() * len]);
            self.chunk(t, fs, noise, len, &mut out)?;
        }
        Ok(out)
    }

    fn chunk(
        &self,
        t: &Transform,
        frames: &[&[f32]],
        noise: Option<&[f32]>,
        len: usize,
        out: &mut Vec<f32>,
    ) -> Result<()> {
        let n = frames.len();
        let (gx, gy, span) = self.gpu.groups(len);
        let dims = Dims {
            height: t.binding.height as u32,
            width: t.binding.width as u32,
            len: len as u32,
            block: t.binding.block as u32,
            cols: t.cols as u32,
            frames: n as u32,
            span,
            noisy: noise.is_some() as u32,
        };
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
        // A binding cannot be empty: without noise the shader never reads it.
        let noise_buf = gpu.buffer("noise", noise.map_or(4, |n| n.len() * 4), storage);
        let out_buf = gpu.buffer("out", n * len * 4, storage | wgpu::BufferUsages::COPY_SRC);
        gpu.queue
            .write_buffer(&frames_buf, 0, bytemuck::cast_slice(&frame_data));
        if let Some(noise) = noise {
            gpu.queue
                .write_buffer(&noise_buf, 0, bytemuck::cast_slice(noise));
        }
        frame_data.zeroize();
        let bind = gpu.bind(
            &self.pipeline,
            &[
                &dims_buf,
                &self.matrices,
                &self.source,
                &frames_buf,
                &noise_buf,
                &out_buf,
            ],
        );
        gpu.run(
            n * len * 4,
            &out_buf,
            |enc| {
                GpuDevice::dispatch(enc, &self.pipeline, &bind, (gx, gy), n as u32);
                // The private frames and their noise leave no copy in GPU memory.
                enc.clear_buffer(&frames_buf, 0, None);
                enc.clear_buffer(&noise_buf, 0, None);
            },
            out,
        )
    }
}

impl Drop for GpuDisguiser {
    /// The key leaves no copy in GPU memory either.
    fn drop(&mut self) {
        let mut enc = self
            .gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("forget key"),
            });
        enc.clear_buffer(&self.matrices, 0, None);
        enc.clear_buffer(&self.source, 0, None);
        let index = self.gpu.queue.submit([enc.finish()]);
        let _ = self.gpu.device.poll(wgpu::PollType::Wait {
            submission_index: Some(index),
            timeout: Some(std::time::Duration::from_secs(5)),
        });
    }
}
