//! edgehide's C ABI: thin `extern "C"` wrappers over the operations of
//! `edgehide-bridge`. Each entry point checks its pointers and lengths,
//! catches panics (nothing unwinds into C), records a message for
//! `eh_last_error` and returns a stable status code. Handles are opaque and
//! registered while alive, so a freed, foreign or mistyped handle is refused
//! (`EH_CLOSED_HANDLE`) instead of being dereferenced.
//!
//! The header `include/edgehide.h` is generated from this file by cbindgen.
#![allow(clippy::missing_safety_doc)] // the safety contract is the header's

use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use edgehide_bridge::{
    BridgeError, Classification, ClientOptions, Device, FrameDesc, FrameFormat, PlaneDesc, Remote,
    Sidecar, Status, Video, VideoAnswer,
};

use edgehide_bridge::handles::{self, Kind};

/// Success.
pub const EH_OK: i32 = 0;
/// A required pointer was NULL.
pub const EH_NULL_POINTER: i32 = 1;
/// An argument is out of range.
pub const EH_INVALID_ARGUMENT: i32 = 2;
/// A frame's planes disagree with its size, format or strides.
pub const EH_INVALID_FRAME: i32 = 3;
/// An unknown frame format code.
pub const EH_UNKNOWN_FORMAT: i32 = 4;
/// An output buffer of the wrong length.
pub const EH_BUFFER_SIZE: i32 = 5;
/// A malformed sidecar, or one naming an unknown scheme.
pub const EH_INVALID_SPEC: i32 = 6;
/// A corrupt or mismatched public corpus.
pub const EH_INVALID_POOL: i32 = 7;
/// A file could not be read.
pub const EH_IO: i32 = 8;
/// The GPU was required and there is none.
pub const EH_NO_GPU: i32 = 9;
/// The GPU failed.
pub const EH_GPU: i32 = 10;
/// The operating system's random source failed.
pub const EH_ENTROPY: i32 = 11;
/// The server could not be reached or timed out.
pub const EH_TRANSPORT: i32 = 12;
/// The server answered with an error status.
pub const EH_SERVER: i32 = 13;
/// The server's model expects another encryption; nothing was sent.
pub const EH_SERVER_MISMATCH: i32 = 14;
/// The server's answer does not follow the protocol.
pub const EH_PROTOCOL: i32 = 15;
/// The library panicked (a bug); nothing unwound into the caller.
pub const EH_PANIC: i32 = 16;
/// A handle that was freed, never made, or of another type.
pub const EH_CLOSED_HANDLE: i32 = 17;
/// A DisguisedNets key file that is malformed or not for the model.
pub const EH_INVALID_KEY: i32 = 18;
/// Anything else (a bug).
pub const EH_INTERNAL: i32 = 99;

/// Frame formats (`EhFrame.format`). NV12: luma, then interleaved U, V
/// (AVFoundation `420v`/`420f`).
pub const EH_FORMAT_NV12: u32 = 1;
/// NV21: luma, then interleaved V, U.
pub const EH_FORMAT_NV21: u32 = 2;
/// I420: luma, U, V planes.
pub const EH_FORMAT_I420: u32 = 3;
/// YUV 4:2:0 with per-plane row and pixel strides (Android `YUV_420_888`).
pub const EH_FORMAT_YUV_420_888: u32 = 4;
/// Packed grey, one byte per pixel.
pub const EH_FORMAT_GRAY8: u32 = 10;
/// Packed RGB.
pub const EH_FORMAT_RGB8: u32 = 11;
/// Packed RGBA.
pub const EH_FORMAT_RGBA8: u32 = 12;
/// Packed BGRA (AVFoundation `BGRA`).
pub const EH_FORMAT_BGRA8: u32 = 13;

/// Backends (`eh_encryptor_open`). Auto: the GPU when there is one, else
/// the CPU (eh_encryptor_fallback_reason says why).
pub const EH_BACKEND_AUTO: u32 = 0;
/// The CPU.
pub const EH_BACKEND_CPU: u32 = 1;
/// The GPU, or an error.
pub const EH_BACKEND_GPU: u32 = 2;

/// Video answers (`eh_video_classify`): encrypted and classified.
pub const EH_ANSWER_FRESH: u32 = 0;
/// The scene's budget was spent: nothing sent, its last answer returned.
pub const EH_ANSWER_REUSED: u32 = 1;
/// The scene's budget was spent and it has no answer yet.
pub const EH_ANSWER_WITHHELD: u32 = 2;

/// Longest label, terminating NUL included.
pub const EH_LABEL_MAX: usize = 64;
/// Most classes reported per frame.
pub const EH_TOP_K_MAX: usize = 8;

/// An encryptor for one model and corpus, with its preprocessor.
pub struct EhEncryptor {
    device: Device,
    backend: CString,
    fallback: Option<CString>,
}

/// A client connected to one model on one server.
pub struct EhClient {
    remote: Remote,
}

/// A video session: the scene budget over a stream of frames.
pub struct EhVideoSession {
    video: Video,
}

/// One plane of a frame. `data` may be NULL only when `len` is 0.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct EhPlane {
    /// The plane's first byte.
    pub data: *const u8,
    /// Bytes readable from `data`.
    pub len: usize,
    /// Bytes from one row to the next.
    pub row_stride: usize,
    /// Bytes from one sample to the next (chroma of YUV_420_888: 1 or 2).
    pub pixel_stride: usize,
}

/// A camera frame, read in place.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct EhFrame {
    /// One of the EH_FORMAT_* codes.
    pub format: u32,
    /// Width in pixels, as the sensor delivers it.
    pub width: u32,
    /// Height in pixels, as the sensor delivers it.
    pub height: u32,
    /// Y, UV (NV12/NV21); Y, U, V (I420, YUV_420_888); or the packed plane.
    pub planes: [EhPlane; 3],
    /// Clockwise rotation to upright: 0, 90, 180 or 270.
    pub rotation_degrees: u32,
    /// 1: mirror left and right after rotating (front camera).
    pub mirror: u32,
    /// YUV: 1 for full range (`420f`), 0 for video range (`420v`).
    pub full_range: u32,
    /// YUV: 0 the model's matrix, 1 BT.601, 2 BT.709.
    pub matrix: u32,
}

/// Client settings; NULL for the defaults.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct EhClientOptions {
    /// Per attempt, in milliseconds; 0 for 10 s.
    pub timeout_ms: u32,
    /// Further attempts after a transport failure, 503 or 504.
    pub retries: u32,
    /// Classes reported per frame, at most EH_TOP_K_MAX; 0 for 3.
    pub top_k: u32,
    /// 1: send half-precision values.
    pub f16: u32,
    /// NUL-terminated PEM of extra trusted roots for https, or NULL.
    pub tls_roots_pem: *const c_char,
}

/// One frame's answer.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct EhClassification {
    /// The most likely class.
    pub class_index: u32,
    /// Its softmax probability.
    pub probability: f32,
    /// Its label, NUL-terminated (cut to fit).
    pub label: [c_char; EH_LABEL_MAX],
    /// How many entries of the top_* arrays are set.
    pub top_k: u32,
    /// The most likely classes, best first.
    pub top_index: [u32; EH_TOP_K_MAX],
    /// Their probabilities.
    pub top_probability: [f32; EH_TOP_K_MAX],
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_last_error(message: &str) {
    let c = CString::new(message.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = c);
}

fn err(status: Status, message: impl Into<String>) -> BridgeError {
    BridgeError::new(status, message)
}

/// Runs `f`, turning its error or panic into a status and a last-error
/// message.
fn guard(f: impl FnOnce() -> Result<(), BridgeError>) -> i32 {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => {
            set_last_error("");
            EH_OK
        }
        Ok(Err(e)) => {
            set_last_error(&e.message);
            e.status.code()
        }
        Err(_) => {
            set_last_error("internal panic (a bug in edgehide); the call did nothing");
            EH_PANIC
        }
    }
}

/// A NUL-terminated UTF-8 string argument.
unsafe fn text<'a>(p: *const c_char, name: &str) -> Result<&'a str, BridgeError> {
    if p.is_null() {
        return Err(err(Status::NullPointer, format!("{name} is NULL")));
    }
    // SAFETY: the caller passes a NUL-terminated string (the header says so).
    unsafe { CStr::from_ptr(p) }
        .to_str()
        .map_err(|_| err(Status::InvalidArgument, format!("{name} is not UTF-8")))
}

unsafe fn opt_text<'a>(p: *const c_char, name: &str) -> Result<Option<&'a str>, BridgeError> {
    if p.is_null() {
        Ok(None)
    } else {
        // SAFETY: as for `text`.
        unsafe { text(p, name) }.map(Some)
    }
}

fn out_ptr<T>(p: *mut T, name: &str) -> Result<(), BridgeError> {
    if p.is_null() {
        return Err(err(Status::NullPointer, format!("{name} is NULL")));
    }
    Ok(())
}

/// The frame's planes as slices.
unsafe fn frame<'a>(f: *const EhFrame) -> Result<FrameDesc<'a>, BridgeError> {
    if f.is_null() {
        return Err(err(Status::NullPointer, "frame is NULL"));
    }
    // SAFETY: checked non-NULL; the caller owns a valid EhFrame.
    let f = unsafe { &*f };
    let format = FrameFormat::from_code(f.format)?;
    let mut planes = [PlaneDesc {
        data: &[],
        row_stride: 0,
        pixel_stride: 1,
    }; 3];
    for (i, (out, p)) in planes.iter_mut().zip(&f.planes).enumerate() {
        let data: &[u8] = match (p.data.is_null(), p.len) {
            (_, 0) => &[],
            (true, _) => {
                return Err(err(
                    Status::NullPointer,
                    format!("plane {i} has {} bytes but a NULL pointer", p.len),
                ));
            }
            // SAFETY: the caller promises `len` readable bytes at `data`.
            (false, len) => unsafe { std::slice::from_raw_parts(p.data, len) },
        };
        *out = PlaneDesc {
            data,
            row_stride: p.row_stride,
            pixel_stride: p.pixel_stride,
        };
    }
    Ok(FrameDesc {
        format,
        width: f.width,
        height: f.height,
        planes,
        rotation_degrees: f.rotation_degrees,
        mirror: f.mirror != 0,
        full_range: f.full_range != 0,
        matrix: f.matrix,
    })
}

fn classification(c: &Classification) -> EhClassification {
    let mut out = EhClassification {
        class_index: c.class() as u32,
        probability: c.top.first().map(|t| t.2).unwrap_or(0.0),
        label: [0; EH_LABEL_MAX],
        top_k: 0,
        top_index: [0; EH_TOP_K_MAX],
        top_probability: [0.0; EH_TOP_K_MAX],
    };
    let label = c.label().as_bytes();
    let mut n = label.len().min(EH_LABEL_MAX - 1);
    while !c.label().is_char_boundary(n) {
        n -= 1;
    }
    for (d, s) in out.label.iter_mut().zip(&label[..n]) {
        *d = *s as c_char;
    }
    for (i, (idx, _, p)) in c.top.iter().take(EH_TOP_K_MAX).enumerate() {
        out.top_index[i] = *idx as u32;
        out.top_probability[i] = *p;
        out.top_k += 1;
    }
    out
}

/// The library's version, a static NUL-terminated string.
#[unsafe(no_mangle)]
pub extern "C" fn eh_version() -> *const c_char {
    // The workspace's version, the bridge's `version()`, NUL-terminated.
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The message of the calling thread's last failed call ("" after a
/// success). Valid until the thread's next eh_* call.
#[unsafe(no_mangle)]
pub extern "C" fn eh_last_error() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}

/// Opens an encryptor for an InstaHide model. Give exactly one of
/// `sidecar_json` (the sidecar's text) and `sidecar_path`; `pool_path` NULL
/// takes the bundled corpus; `backend` is an EH_BACKEND_* code. On success
/// `*out` holds the handle. A DisguisedNets model needs
/// eh_encryptor_open_keyed (EH_INVALID_SPEC here).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn eh_encryptor_open(
    sidecar_json: *const c_char,
    sidecar_path: *const c_char,
    pool_path: *const c_char,
    backend: u32,
    out: *mut *mut EhEncryptor,
) -> i32 {
    guard(|| {
        out_ptr(out, "out")?;
        // SAFETY: the header's contract for string arguments.
        let (sidecar, pool) = unsafe {
            (
                sidecar_of(sidecar_json, sidecar_path)?,
                opt_text(pool_path, "pool_path")?,
            )
        };
        let device = Device::open(sidecar, pool.map(Path::new), backend)?;
        // SAFETY: `out` checked non-NULL.
        unsafe { register_encryptor(device, out) };
        Ok(())
    })
}

/// Opens an encryptor for a DisguisedNets model with its deployment key.
/// Give exactly one of `sidecar_json` and `sidecar_path`; `key_path` is the
/// key file (read by the library into memory it wipes; no buffer of the
/// caller's ever holds the key); `backend` is an EH_BACKEND_* code. EH_INVALID_KEY for
/// a malformed key or one made for another geometry, EH_INVALID_SPEC for an
/// InstaHide model (open it with eh_encryptor_open).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn eh_encryptor_open_keyed(
    sidecar_json: *const c_char,
    sidecar_path: *const c_char,
    key_path: *const c_char,
    backend: u32,
    out: *mut *mut EhEncryptor,
) -> i32 {
    guard(|| {
        out_ptr(out, "out")?;
        // SAFETY: the header's contract for string arguments.
        let (sidecar, key) = unsafe {
            (
                sidecar_of(sidecar_json, sidecar_path)?,
                text(key_path, "key_path")?,
            )
        };
        let device = Device::open_keyed(sidecar, Path::new(key), backend)?;
        // SAFETY: `out` checked non-NULL.
        unsafe { register_encryptor(device, out) };
        Ok(())
    })
}

/// The sidecar from exactly one of its text and its path.
///
/// # Safety
/// Each pointer is NULL or a NUL-terminated string valid for the call.
unsafe fn sidecar_of<'a>(
    json: *const c_char,
    path: *const c_char,
) -> Result<Sidecar<'a>, BridgeError> {
    // SAFETY: the caller's contract.
    let (json, path) = unsafe {
        (
            opt_text(json, "sidecar_json")?,
            opt_text(path, "sidecar_path")?,
        )
    };
    Sidecar::one_of(json, path)
}

/// Registers `device` as an encryptor handle in `*out`.
///
/// # Safety
/// `out` is non-NULL and writable.
unsafe fn register_encryptor(device: Device, out: *mut *mut EhEncryptor) {
    let enc = device.encryptor();
    let handle = Box::new(EhEncryptor {
        backend: CString::new(enc.backend().to_string()).unwrap_or_default(),
        fallback: enc
            .fallback_reason()
            .map(|r| CString::new(r.replace('\0', " ")).unwrap_or_default()),
        device,
    });
    // SAFETY: the caller's contract.
    unsafe { *out = handles::register(handle, Kind::Encryptor) };
}

/// The backend in use ("cpu", or "gpu: <adapter>"); valid while the handle
/// lives. NULL for a bad handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn eh_encryptor_backend(enc: *const EhEncryptor) -> *const c_char {
    // SAFETY: the registry vouches for live handles.
    match unsafe { handles::get(enc, Kind::Encryptor) } {
        Ok(e) => e.backend.as_ptr(),
        Err(_) => std::ptr::null(),
    }
}

/// Why the GPU is not in use when it was asked for with EH_BACKEND_AUTO;
/// NULL when it is (or for a bad handle).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn eh_encryptor_fallback_reason(enc: *const EhEncryptor) -> *const c_char {
    // SAFETY: the registry vouches for live handles.
    match unsafe { handles::get(enc, Kind::Encryptor) } {
        Ok(e) => e.fallback.as_ref().map_or(std::ptr::null(), |r| r.as_ptr()),
        Err(_) => std::ptr::null(),
    }
}

/// Floats per encryption (channels x height x width); 0 for a bad handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn eh_encryptor_output_len(enc: *const EhEncryptor) -> usize {
    // SAFETY: the registry vouches for live handles.
    unsafe { handles::get(enc, Kind::Encryptor) }.map_or(0, |e| e.device.output_len())
}

/// Preprocesses `frame` and encrypts it with a fresh one-time key into
/// `out`, which holds exactly `out_len` floats (eh_encryptor_output_len).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn eh_encrypt(
    enc: *const EhEncryptor,
    frame: *const EhFrame,
    out: *mut f32,
    out_len: usize,
) -> i32 {
    guard(|| {
        // SAFETY: the registry vouches for live handles; the frame and the
        // output are the caller's, as the header describes.
        let (e, f) = unsafe { (handles::get(enc, Kind::Encryptor)?, self::frame(frame)?) };
        out_ptr(out, "out")?;
        // SAFETY: the caller promises `out_len` writable floats at `out`.
        let out = unsafe { std::slice::from_raw_parts_mut(out, out_len) };
        e.device.encrypt(&f, out)
    })
}

/// Frees an encryptor (NULL is accepted; clients made from it keep working).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn eh_encryptor_free(enc: *mut EhEncryptor) {
    // SAFETY: the registry frees only handles it made.
    let _ = catch_unwind(AssertUnwindSafe(|| unsafe {
        handles::free(enc, Kind::Encryptor)
    }));
}

/// Connects to `model` on the server at `url` (http:// or https://) and
/// checks that the model expects what `enc` encrypts; nothing is sent when
/// it does not (EH_SERVER_MISMATCH). `options` may be NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn eh_client_connect(
    url: *const c_char,
    model: *const c_char,
    enc: *const EhEncryptor,
    options: *const EhClientOptions,
    out: *mut *mut EhClient,
) -> i32 {
    guard(|| {
        out_ptr(out, "out")?;
        // SAFETY: strings, handle and options as the header describes.
        let (url, model, e) = unsafe {
            (
                text(url, "url")?,
                text(model, "model")?,
                handles::get(enc, Kind::Encryptor)?,
            )
        };
        let mut opts = ClientOptions::default();
        if !options.is_null() {
            // SAFETY: checked non-NULL; the caller's struct.
            let o = unsafe { &*options };
            if o.top_k as usize > EH_TOP_K_MAX {
                return Err(err(
                    Status::InvalidArgument,
                    format!("top_k {} exceeds {EH_TOP_K_MAX}", o.top_k),
                ));
            }
            opts.timeout_ms = o.timeout_ms;
            opts.retries = o.retries;
            opts.top_k = o.top_k;
            opts.f16 = o.f16 != 0;
            // SAFETY: a NUL-terminated string or NULL.
            opts.tls_roots_pem = unsafe { opt_text(o.tls_roots_pem, "tls_roots_pem")? }
                .map(|s| s.as_bytes().to_vec());
        }
        let remote = Remote::connect(url, model, &e.device, opts)?;
        // SAFETY: `out` checked non-NULL.
        unsafe { *out = handles::register(Box::new(EhClient { remote }), Kind::Client) };
        Ok(())
    })
}

/// Preprocesses `frame`, encrypts it with a fresh key, sends only the
/// encryption and writes the server's answer to `out`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn eh_classify(
    client: *const EhClient,
    frame: *const EhFrame,
    out: *mut EhClassification,
) -> i32 {
    guard(|| {
        // SAFETY: handle and frame as the header describes.
        let (c, f) = unsafe { (handles::get(client, Kind::Client)?, self::frame(frame)?) };
        out_ptr(out, "out")?;
        let answer = c.remote.classify(&f)?;
        // SAFETY: checked non-NULL; the caller's struct.
        unsafe { *out = classification(&answer) };
        Ok(())
    })
}

/// Frees a client (NULL is accepted).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn eh_client_free(client: *mut EhClient) {
    // SAFETY: the registry frees only handles it made.
    let _ = catch_unwind(AssertUnwindSafe(|| unsafe {
        handles::free(client, Kind::Client)
    }));
}

/// A video session sending at most `budget` encryptions per scene per
/// `window_s` seconds (0 and 0: one per hour, the default).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn eh_video_session_new(
    budget: u32,
    window_s: u32,
    out: *mut *mut EhVideoSession,
) -> i32 {
    guard(|| {
        out_ptr(out, "out")?;
        let video = Video::new(budget, window_s);
        // SAFETY: `out` checked non-NULL.
        unsafe { *out = handles::register(Box::new(EhVideoSession { video }), Kind::Video) };
        Ok(())
    })
}

/// Classifies a video frame under the session's scene budget. `*kind` gets
/// an EH_ANSWER_* code; `out` is written for FRESH and REUSED answers.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn eh_video_classify(
    session: *const EhVideoSession,
    client: *const EhClient,
    frame: *const EhFrame,
    kind: *mut u32,
    out: *mut EhClassification,
) -> i32 {
    guard(|| {
        // SAFETY: handles and frame as the header describes.
        let (s, c, f) = unsafe {
            (
                handles::get(session, Kind::Video)?,
                handles::get(client, Kind::Client)?,
                self::frame(frame)?,
            )
        };
        out_ptr(kind, "kind")?;
        out_ptr(out, "out")?;
        let (k, answer) = match s.video.classify(&c.remote, &f)? {
            VideoAnswer::Fresh(a) => (EH_ANSWER_FRESH, Some(a)),
            VideoAnswer::Reused(a) => (EH_ANSWER_REUSED, Some(a)),
            VideoAnswer::Withheld => (EH_ANSWER_WITHHELD, None),
        };
        // SAFETY: both checked non-NULL; the caller's memory.
        unsafe {
            *kind = k;
            if let Some(a) = answer {
                *out = classification(&a);
            }
        }
        Ok(())
    })
}

/// Frees a video session (NULL is accepted).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn eh_video_session_free(session: *mut EhVideoSession) {
    // SAFETY: the registry frees only handles it made.
    let _ = catch_unwind(AssertUnwindSafe(|| unsafe {
        handles::free(session, Kind::Video)
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header's codes are the bridge's: one number per failure in
    /// every language.
    #[test]
    fn status_codes_match_the_bridge() {
        for (code, status) in [
            (EH_OK, Status::Ok),
            (EH_NULL_POINTER, Status::NullPointer),
            (EH_INVALID_ARGUMENT, Status::InvalidArgument),
            (EH_INVALID_FRAME, Status::InvalidFrame),
            (EH_UNKNOWN_FORMAT, Status::UnknownFormat),
            (EH_BUFFER_SIZE, Status::BufferSize),
            (EH_INVALID_SPEC, Status::InvalidSpec),
            (EH_INVALID_POOL, Status::InvalidPool),
            (EH_IO, Status::Io),
            (EH_NO_GPU, Status::NoGpu),
            (EH_GPU, Status::Gpu),
            (EH_ENTROPY, Status::Entropy),
            (EH_TRANSPORT, Status::Transport),
            (EH_SERVER, Status::Server),
            (EH_SERVER_MISMATCH, Status::ServerMismatch),
            (EH_PROTOCOL, Status::Protocol),
            (EH_PANIC, Status::Panic),
            (EH_CLOSED_HANDLE, Status::ClosedHandle),
            (EH_INVALID_KEY, Status::InvalidKey),
            (EH_INTERNAL, Status::Internal),
        ] {
            assert_eq!(code, status.code(), "{status:?}");
        }
    }

    #[test]
    fn a_panic_becomes_a_status_and_a_message() {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let s = guard(|| panic!("boom"));
        std::panic::set_hook(prev);
        assert_eq!(s, EH_PANIC);
        // SAFETY: eh_last_error returns this thread's NUL-terminated message.
        let msg = unsafe { CStr::from_ptr(eh_last_error()) }.to_str().unwrap();
        assert!(msg.contains("panic"), "{msg}");
        assert_eq!(guard(|| Ok(())), EH_OK);
        // SAFETY: as above.
        assert_eq!(unsafe { CStr::from_ptr(eh_last_error()) }.to_bytes(), b"");
    }
}
