// InstaHide mix-and-mask, one invocation per output element of one frame.
//
// For element n (channels-first index c*H*W + y*W + x) of frame f:
//   acc = w0 * frame[n] + sum_s (w_s * offset[c])
//   for each public slot s: acc += (w_s * scale[c]) * bilinear(crop_s, c, y, x)
//   out[n] = acc with its sign flipped where bit n of the frame's mask words is set
// That is w0 * frame + sum_s w_s * (bilinear * scale + offset), with the
// normalisation folded into the coefficients in the CPU's order (`Folded`
// in src/scheme/instahide/cpu.rs).
//
// The bilinear interpolation is written out in shader arithmetic rather than
// done by texture filtering units, whose weights have only a few bits on many
// GPUs. CPU twin: `encrypt_fast` in src/scheme/instahide/cpu.rs; the test
// `gpu_matches_cpu` in tests/gpu.rs holds them equal.

struct Dims {
    channels: u32,
    height: u32,
    width: u32,
    len: u32,      // channels * height * width
    k: u32,
    frames: u32,   // frames in this dispatch
    words: u32,    // mask words per frame
    span: u32,     // elements covered by one row of workgroups (x extent * 64)
    scale: vec4<f32>,
    offset: vec4<f32>,
}

// Must match `Slot` in src/scheme/instahide/key.rs.
struct Slot {
    image: u32,
    x0: i32,
    y0: i32,
    cw: u32,
    ch: u32,
    flip: u32,
    step_x: f32,
    step_y: f32,
}

// Must match `KeyGpu` in src/scheme/instahide/gpu.rs.
struct Key {
    weights: array<f32, 8>,
    slots: array<Slot, 7>,
}

struct Entry {
    offset: u32,
    width: u32,
    height: u32,
    pad: u32,
}

struct Tap {
    i0: i32,
    i1: i32,
    t: f32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> pool: array<u32>;
@group(0) @binding(2) var<storage, read> entries: array<Entry>;
@group(0) @binding(3) var<storage, read> frames: array<f32>;
@group(0) @binding(4) var<storage, read> keys: array<Key>;
@group(0) @binding(5) var<storage, read> masks: array<u32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;

// One corpus byte (planar, 0..255); 0 outside the image.
fn texel(e: Entry, c: u32, y: i32, x: i32) -> f32 {
    if (x < 0 || y < 0 || u32(x) >= e.width || u32(y) >= e.height) {
        return 0.0;
    }
    let a = e.offset + c * e.width * e.height + u32(y) * e.width + u32(x);
    return f32((pool[a >> 2u] >> ((a & 3u) * 8u)) & 0xffu);
}

// Source taps for output coordinate `o` along one axis (half-pixel centres,
// clamped to the crop).
fn tap(o: u32, n_out: u32, step: f32, size: u32, origin: i32, flip: bool) -> Tap {
    var oo = o;
    if (flip) {
        oo = n_out - 1u - o;
    }
    let f = clamp((f32(oo) + 0.5) * step - 0.5, 0.0, f32(size - 1u));
    let i = floor(f);
    let iu = u32(i);
    return Tap(origin + i32(iu), origin + i32(min(iu + 1u, size - 1u)), f - i);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let n = gid.y * dims.span + gid.x;
    let f = gid.z;
    if (n >= dims.len || f >= dims.frames) {
        return;
    }
    let plane = dims.height * dims.width;
    let c = n / plane;
    let rem = n - c * plane;
    let oy = rem / dims.width;
    let ox = rem - oy * dims.width;

    var folded_offset = 0.0;
    for (var s = 0u; s + 1u < dims.k; s = s + 1u) {
        folded_offset = folded_offset + keys[f].weights[s + 1u] * dims.offset[c];
    }
    // The public images' pad first, the frame last: the CPU twin's order.
    var acc = folded_offset;
    for (var s = 0u; s + 1u < dims.k; s = s + 1u) {
        let sl = keys[f].slots[s];
        let e = entries[sl.image];
        let tx = tap(ox, dims.width, sl.step_x, sl.cw, sl.x0, sl.flip != 0u);
        let ty = tap(oy, dims.height, sl.step_y, sl.ch, sl.y0, false);
        let p00 = texel(e, c, ty.i0, tx.i0);
        let p01 = texel(e, c, ty.i0, tx.i1);
        let p10 = texel(e, c, ty.i1, tx.i0);
        let p11 = texel(e, c, ty.i1, tx.i1);
        // Vertical first, `a + t (b - a)`: the CPU twin's exact formula.
        let a0 = p00 + ty.t * (p10 - p00);
        let a1 = p01 + ty.t * (p11 - p01);
        let v = a0 + tx.t * (a1 - a0);
        acc = acc + (keys[f].weights[s + 1u] * dims.scale[c]) * v;
    }
    acc = keys[f].weights[0] * frames[f * dims.len + n] + acc;
    let bit = (masks[f * dims.words + (n >> 5u)] >> (n & 31u)) & 1u;
    out[f * dims.len + n] = bitcast<f32>(bitcast<u32>(acc) ^ (bit << 31u));
}
