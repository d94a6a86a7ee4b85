// DisguisedNets block transform, one invocation per output element of one
// frame.
//
// Each channel is cut into b x b blocks. The block B at position p becomes
// B * R_p (R_p a secret orthogonal b x b matrix, row-major) and lands at the
// position the secret permutation sends p to; fresh noise is then added.
// Output element (c, qy*b + i, qx*b + j) of block position q is therefore
//   sum_l frame[c, py*b + i, px*b + l] * R_p[l, j]  (+ noise)
// with p = source[q]. CPU twin: `disguise` in
// src/scheme/disguisednets/cpu.rs (the same sum, term for term); the test
// `disguise_gpu_matches_cpu` in tests/gpu.rs holds them equal.

struct Dims {
    height: u32,
    width: u32,
    len: u32,      // channels * height * width
    block: u32,
    cols: u32,     // blocks per row
    frames: u32,   // frames in this dispatch
    span: u32,     // elements covered by one row of workgroups (x extent * 64)
    noisy: u32,    // 1: add noise[f * len + n]
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> matrices: array<f32>;
@group(0) @binding(2) var<storage, read> source: array<u32>;
@group(0) @binding(3) var<storage, read> frames: array<f32>;
@group(0) @binding(4) var<storage, read> noise: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let n = gid.y * dims.span + gid.x;
    let f = gid.z;
    if (n >= dims.len || f >= dims.frames) {
        return;
    }
    let b = dims.block;
    let plane = dims.height * dims.width;
    let c = n / plane;
    let y = (n % plane) / dims.width;
    let x = n % dims.width;
    let q = (y / b) * dims.cols + x / b;
    let i = y % b;
    let j = x % b;
    let p = source[q];
    let row = f * dims.len + c * plane + ((p / dims.cols) * b + i) * dims.width + (p % dims.cols) * b;
    let r = p * b * b + j;
    var acc = 0.0;
    for (var l = 0u; l < b; l = l + 1u) {
        acc = acc + frames[row + l] * matrices[r + l * b];
    }
    if (dims.noisy != 0u) {
        acc = acc + noise[f * dims.len + n];
    }
    out[f * dims.len + n] = acc;
}
