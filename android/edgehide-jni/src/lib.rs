//! edgehide's JNI entry points (`org.edgehide.Native`), as thin as the C
//! ABI's: each checks its arguments, runs one operation of
//! `edgehide-bridge`, and returns a stable status code (0 for success) that
//! the Java side turns into a typed `EdgeHideException`, with the message
//! from `Native.lastError()`. Panics are caught (`EnvUnowned::with_env`) and
//! never reach the VM. Frames are read in place from direct `ByteBuffer`s;
//! encryptions are written in place into direct `FloatBuffer`s; handles are
//! registered `long`s, so a closed or foreign one is refused.

use std::cell::RefCell;
use std::path::Path;

use edgehide_bridge::handles::{self, Kind};
use edgehide_bridge::{
    BridgeError, ClientOptions, Device, FrameDesc, FrameFormat, PlaneDesc, Remote, Sidecar, Status,
    Video, VideoAnswer,
};
use jni::errors::ThrowRuntimeExAndDefault;
use jni::objects::{JByteBuffer, JClass, JFloatArray, JIntArray, JLongArray, JObject, JString};
use jni::sys::{jboolean, jint, jlong};
use jni::{Env, EnvUnowned};

thread_local! {
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

/// What a native method's body returns: a bridge error becomes its status
/// code, a JNI failure `Internal`.
enum Fail {
    Bridge(BridgeError),
    Jni(jni::errors::Error),
}

impl From<BridgeError> for Fail {
    fn from(e: BridgeError) -> Fail {
        Fail::Bridge(e)
    }
}

impl From<jni::errors::Error> for Fail {
    fn from(e: jni::errors::Error) -> Fail {
        Fail::Jni(e)
    }
}

fn fail(status: Status, message: impl Into<String>) -> Fail {
    Fail::Bridge(BridgeError::new(status, message))
}

/// Runs `f` and returns its status code, recording the message.
fn status<'local>(
    unowned: &mut EnvUnowned<'local>,
    f: impl FnOnce(&mut Env<'local>) -> Result<(), Fail>,
) -> jint {
    unowned
        .with_env(|env| -> jni::errors::Result<jint> {
            let (code, message) = match f(env) {
                Ok(()) => (Status::Ok.code(), String::new()),
                Err(Fail::Bridge(e)) => (e.status.code(), e.message),
                Err(Fail::Jni(e)) => (Status::Internal.code(), format!("JNI: {e}")),
            };
            LAST_ERROR.with(|m| *m.borrow_mut() = message);
            Ok(code)
        })
        .resolve::<ThrowRuntimeExAndDefault>()
}

fn string(env: &Env<'_>, s: &JString<'_>, name: &str) -> Result<Option<String>, Fail> {
    if s.is_null() {
        return Ok(None);
    }
    s.try_to_string(env).map(Some).map_err(|_| {
        fail(
            Status::InvalidArgument,
            format!("{name} is not a valid string"),
        )
    })
}

/// The bytes of a direct buffer, or empty for null. A heap buffer (no
/// address) is refused.
fn bytes<'a>(env: &Env<'_>, b: &JByteBuffer<'_>, name: &str) -> Result<&'a [u8], Fail> {
    if b.is_null() {
        return Ok(&[]);
    }
    let (Ok(ptr), Ok(len)) = (
        env.get_direct_buffer_address(b),
        env.get_direct_buffer_capacity(b),
    ) else {
        return Err(fail(
            Status::InvalidArgument,
            format!("{name} is not a direct buffer"),
        ));
    };
    if ptr.is_null() || len == 0 {
        return Ok(&[]);
    }
    // SAFETY: a direct buffer's memory stays valid while the Java caller
    // holds the buffer, which it does for the whole native call.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A direct float buffer's floats.
fn floats<'a>(env: &Env<'_>, b: &JByteBuffer<'_>) -> Result<&'a mut [f32], Fail> {
    if b.is_null() {
        return Err(fail(Status::NullPointer, "the output buffer is null"));
    }
    let (Ok(ptr), Ok(len)) = (
        env.get_direct_buffer_address(b),
        env.get_direct_buffer_capacity(b),
    ) else {
        return Err(fail(
            Status::InvalidArgument,
            "the output buffer is not a direct FloatBuffer",
        ));
    };
    if ptr.is_null() || !(ptr as usize).is_multiple_of(std::mem::align_of::<f32>()) {
        return Err(fail(
            Status::InvalidArgument,
            "the output buffer is not an aligned direct FloatBuffer",
        ));
    }
    // SAFETY: a direct FloatBuffer's capacity counts floats; its memory stays
    // valid during the call; alignment checked above.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr.cast::<f32>(), len) })
}

/// The three plane argument triples every frame-taking method receives.
macro_rules! planes {
    ($($buf:ident, $rs:ident, $ps:ident),+) => {
        [$(PlaneArgs { buf: &$buf, row_stride: $rs, pixel_stride: $ps }),+]
    };
}

/// One plane argument triple: buffer, row stride, pixel stride.
struct PlaneArgs<'a, 'local> {
    buf: &'a JByteBuffer<'local>,
    row_stride: jint,
    pixel_stride: jint,
}

fn plane<'a>(env: &Env<'_>, p: &PlaneArgs<'_, '_>, i: usize) -> Result<PlaneDesc<'a>, Fail> {
    let stride = |v: jint, what: &str| {
        usize::try_from(v)
            .map_err(|_| fail(Status::InvalidFrame, format!("plane {i}: negative {what}")))
    };
    Ok(PlaneDesc {
        data: bytes(env, p.buf, &format!("plane {i}"))?,
        row_stride: stride(p.row_stride, "row stride")?,
        pixel_stride: stride(p.pixel_stride, "pixel stride")?,
    })
}

/// A frame from the arguments every frame-taking method shares.
#[allow(clippy::too_many_arguments)]
fn frame<'a>(
    env: &Env<'_>,
    format: jint,
    width: jint,
    height: jint,
    planes: [PlaneArgs<'_, '_>; 3],
    rotation: jint,
    mirror: jboolean,
    full_range: jboolean,
) -> Result<FrameDesc<'a>, Fail> {
    let dim = |v: jint, what: &str| {
        u32::try_from(v).map_err(|_| fail(Status::InvalidFrame, format!("negative {what}")))
    };
    let [a, b, c] = planes;
    Ok(FrameDesc {
        format: FrameFormat::from_code(u32::try_from(format).unwrap_or(u32::MAX))?,
        width: dim(width, "width")?,
        height: dim(height, "height")?,
        planes: [plane(env, &a, 0)?, plane(env, &b, 1)?, plane(env, &c, 2)?],
        rotation_degrees: u32::try_from(rotation).unwrap_or(u32::MAX),
        mirror,
        full_range,
        matrix: 0,
    })
}

fn store_handle(env: &Env<'_>, out: &JLongArray<'_>, handle: usize) -> Result<(), Fail> {
    if out.is_null() || out.len(env)? < 1 {
        return Err(fail(
            Status::NullPointer,
            "the handle array is null or empty",
        ));
    }
    out.set_region(env, 0, &[handle as jlong])?;
    Ok(())
}

/// The value behind a handle of `kind`.
fn get<'a, T>(handle: jlong, kind: Kind) -> Result<&'a T, Fail> {
    // SAFETY: the registry vouches for live handles of `kind` holding a `T`
    // (every handle of a kind is registered with that kind's type below).
    Ok(unsafe { handles::get(handle as usize as *const T, kind)? })
}

/// `String Native.version()`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_edgehide_Native_version<'local>(
    mut unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
) -> JObject<'local> {
    unowned
        .with_env(|env| -> jni::errors::Result<JObject<'local>> {
            Ok(env.new_string(edgehide_bridge::version())?.into())
        })
        .resolve::<ThrowRuntimeExAndDefault>()
}

/// `String Native.lastError()`: the calling thread's last failure message.
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_edgehide_Native_lastError<'local>(
    mut unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
) -> JObject<'local> {
    let message = LAST_ERROR.with(|m| m.borrow().clone());
    unowned
        .with_env(|env| -> jni::errors::Result<JObject<'local>> {
            Ok(env.new_string(message)?.into())
        })
        .resolve::<ThrowRuntimeExAndDefault>()
}

/// `int Native.encryptorOpen(String json, String path, String pool, String
/// key, int backend, long[] out)`: an InstaHide model with its corpus, or a
/// DisguisedNets model with the key file at `key` (read in Rust: the key
/// never enters the Java heap).
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)] // the Java method's parameters
pub extern "system" fn Java_org_edgehide_Native_encryptorOpen<'local>(
    mut unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    json: JString<'local>,
    path: JString<'local>,
    pool: JString<'local>,
    key: JString<'local>,
    backend: jint,
    out: JLongArray<'local>,
) -> jint {
    status(&mut unowned, |env| {
        let json = string(env, &json, "sidecarJson")?;
        let path = string(env, &path, "sidecarPath")?;
        let pool = string(env, &pool, "poolPath")?;
        let key = string(env, &key, "keyPath")?;
        let sidecar = Sidecar::one_of(json.as_deref(), path.as_deref())?;
        let backend = u32::try_from(backend).unwrap_or(u32::MAX);
        let device = match (key, pool) {
            (Some(key), None) => Device::open_keyed(sidecar, Path::new(&key), backend)?,
            (None, pool) => Device::open(sidecar, pool.as_deref().map(Path::new), backend)?,
            (Some(_), Some(_)) => {
                return Err(fail(
                    Status::InvalidArgument,
                    "a keyed (DisguisedNets) model has no corpus: give the key or the corpus",
                ));
            }
        };
        let handle = handles::register(Box::new(device), Kind::Encryptor);
        if let Err(e) = store_handle(env, &out, handle as usize) {
            // SAFETY: just registered, never handed out.
            unsafe { handles::free(handle, Kind::Encryptor) };
            return Err(e);
        }
        Ok(())
    })
}

/// A string property of an encryptor, or null for a bad handle.
fn encryptor_text<'local>(
    mut unowned: EnvUnowned<'local>,
    handle: jlong,
    pick: impl FnOnce(&Device) -> Option<String>,
) -> JObject<'local> {
    let text = get::<Device>(handle, Kind::Encryptor).ok().and_then(pick);
    unowned
        .with_env(|env| -> jni::errors::Result<JObject<'local>> {
            Ok(match text {
                Some(t) => env.new_string(t)?.into(),
                None => JObject::null(),
            })
        })
        .resolve::<ThrowRuntimeExAndDefault>()
}

/// `String Native.encryptorBackend(long handle)`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_edgehide_Native_encryptorBackend<'local>(
    unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> JObject<'local> {
    encryptor_text(unowned, handle, |d| {
        Some(d.encryptor().backend().to_string())
    })
}

/// `String Native.encryptorFallbackReason(long handle)`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_edgehide_Native_encryptorFallbackReason<'local>(
    unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> JObject<'local> {
    encryptor_text(unowned, handle, |d| {
        d.encryptor().fallback_reason().map(str::to_string)
    })
}

/// `int Native.encryptorOutputLength(long handle)`: 0 for a bad handle.
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_edgehide_Native_encryptorOutputLength<'local>(
    _unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jint {
    get::<Device>(handle, Kind::Encryptor).map_or(0, |d| d.output_len() as jint)
}

/// `int Native.encrypt(long handle, <frame>, FloatBuffer out)`.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub extern "system" fn Java_org_edgehide_Native_encrypt<'local>(
    mut unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
    format: jint,
    width: jint,
    height: jint,
    p0: JByteBuffer<'local>,
    rs0: jint,
    ps0: jint,
    p1: JByteBuffer<'local>,
    rs1: jint,
    ps1: jint,
    p2: JByteBuffer<'local>,
    rs2: jint,
    ps2: jint,
    rotation: jint,
    mirror: jboolean,
    full_range: jboolean,
    out: JByteBuffer<'local>,
) -> jint {
    status(&mut unowned, |env| {
        let device = get::<Device>(handle, Kind::Encryptor)?;
        let planes = planes!(p0, rs0, ps0, p1, rs1, ps1, p2, rs2, ps2);
        let f = frame(
            env, format, width, height, planes, rotation, mirror, full_range,
        )?;
        let out = floats(env, &out)?;
        Ok(device.encrypt(&f, out)?)
    })
}

/// `void Native.encryptorFree(long handle)`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_edgehide_Native_encryptorFree<'local>(
    _unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
) {
    // SAFETY: the registry frees only live handles of this kind.
    let _ = std::panic::catch_unwind(|| unsafe {
        handles::free(handle as usize as *mut Device, Kind::Encryptor)
    });
}

/// `int Native.clientConnect(String url, String model, long encryptor, int
/// timeoutMs, int retries, int topK, boolean f16, String tlsRootsPem,
/// long[] out)`.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub extern "system" fn Java_org_edgehide_Native_clientConnect<'local>(
    mut unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    url: JString<'local>,
    model: JString<'local>,
    encryptor: jlong,
    timeout_ms: jint,
    retries: jint,
    top_k: jint,
    f16: jboolean,
    tls_roots_pem: JString<'local>,
    out: JLongArray<'local>,
) -> jint {
    status(&mut unowned, |env| {
        let url =
            string(env, &url, "url")?.ok_or_else(|| fail(Status::NullPointer, "url is null"))?;
        let model = string(env, &model, "model")?
            .ok_or_else(|| fail(Status::NullPointer, "model is null"))?;
        let device = get::<Device>(encryptor, Kind::Encryptor)?;
        let non_negative = |v: jint, what: &str| {
            u32::try_from(v)
                .map_err(|_| fail(Status::InvalidArgument, format!("{what} is negative")))
        };
        let opts = ClientOptions {
            timeout_ms: non_negative(timeout_ms, "timeoutMs")?,
            retries: non_negative(retries, "retries")?,
            top_k: non_negative(top_k, "topK")?,
            f16,
            tls_roots_pem: string(env, &tls_roots_pem, "tlsRootsPem")?.map(String::into_bytes),
        };
        let remote = Remote::connect(&url, &model, device, opts)?;
        let handle = handles::register(Box::new(remote), Kind::Client);
        if let Err(e) = store_handle(env, &out, handle as usize) {
            // SAFETY: just registered, never handed out.
            unsafe { handles::free(handle, Kind::Client) };
            return Err(e);
        }
        Ok(())
    })
}

/// Writes an answer's classes and probabilities, best first, into
/// `indices` and `probs` (as many as both hold).
fn store_answer(
    env: &Env<'_>,
    answer: &edgehide_bridge::Classification,
    indices: &JIntArray<'_>,
    probs: &JFloatArray<'_>,
) -> Result<(), Fail> {
    if indices.is_null() || probs.is_null() {
        return Err(fail(Status::NullPointer, "the answer arrays are null"));
    }
    let n = answer.top.len().min(indices.len(env)?).min(probs.len(env)?);
    let idx: Vec<jint> = answer.top[..n].iter().map(|t| t.0 as jint).collect();
    let p: Vec<f32> = answer.top[..n].iter().map(|t| t.2).collect();
    indices.set_region(env, 0, &idx)?;
    probs.set_region(env, 0, &p)?;
    Ok(())
}

/// `int Native.classify(long client, <frame>, int[] indices, float[] probs)`.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub extern "system" fn Java_org_edgehide_Native_classify<'local>(
    mut unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    client: jlong,
    format: jint,
    width: jint,
    height: jint,
    p0: JByteBuffer<'local>,
    rs0: jint,
    ps0: jint,
    p1: JByteBuffer<'local>,
    rs1: jint,
    ps1: jint,
    p2: JByteBuffer<'local>,
    rs2: jint,
    ps2: jint,
    rotation: jint,
    mirror: jboolean,
    full_range: jboolean,
    indices: JIntArray<'local>,
    probs: JFloatArray<'local>,
) -> jint {
    status(&mut unowned, |env| {
        let remote = get::<Remote>(client, Kind::Client)?;
        let planes = planes!(p0, rs0, ps0, p1, rs1, ps1, p2, rs2, ps2);
        let f = frame(
            env, format, width, height, planes, rotation, mirror, full_range,
        )?;
        let answer = remote.classify(&f)?;
        store_answer(env, &answer, &indices, &probs)
    })
}

/// `String Native.clientLabel(long client, int index)`: the server model's
/// label of a class, or null.
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_edgehide_Native_clientLabel<'local>(
    mut unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    client: jlong,
    index: jint,
) -> JObject<'local> {
    let label = get::<Remote>(client, Kind::Client)
        .ok()
        .and_then(|r| usize::try_from(index).ok().and_then(|i| r.label(i)));
    unowned
        .with_env(|env| -> jni::errors::Result<JObject<'local>> {
            Ok(match label {
                Some(l) => env.new_string(l)?.into(),
                None => JObject::null(),
            })
        })
        .resolve::<ThrowRuntimeExAndDefault>()
}

/// `void Native.clientFree(long handle)`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_edgehide_Native_clientFree<'local>(
    _unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
) {
    // SAFETY: the registry frees only live handles of this kind.
    let _ = std::panic::catch_unwind(|| unsafe {
        handles::free(handle as usize as *mut Remote, Kind::Client)
    });
}

/// `int Native.videoNew(int budget, int windowS, long[] out)`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_edgehide_Native_videoNew<'local>(
    mut unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    budget: jint,
    window_s: jint,
    out: JLongArray<'local>,
) -> jint {
    status(&mut unowned, |env| {
        let (Ok(budget), Ok(window)) = (u32::try_from(budget), u32::try_from(window_s)) else {
            return Err(fail(
                Status::InvalidArgument,
                "budget and window must not be negative",
            ));
        };
        let handle = handles::register(Box::new(Video::new(budget, window)), Kind::Video);
        if let Err(e) = store_handle(env, &out, handle as usize) {
            // SAFETY: just registered, never handed out.
            unsafe { handles::free(handle, Kind::Video) };
            return Err(e);
        }
        Ok(())
    })
}

/// `int Native.videoClassify(long session, long client, <frame>, int[]
/// kind, int[] indices, float[] probs)`: `kind[0]` 0 fresh, 1 reused,
/// 2 withheld.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub extern "system" fn Java_org_edgehide_Native_videoClassify<'local>(
    mut unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    session: jlong,
    client: jlong,
    format: jint,
    width: jint,
    height: jint,
    p0: JByteBuffer<'local>,
    rs0: jint,
    ps0: jint,
    p1: JByteBuffer<'local>,
    rs1: jint,
    ps1: jint,
    p2: JByteBuffer<'local>,
    rs2: jint,
    ps2: jint,
    rotation: jint,
    mirror: jboolean,
    full_range: jboolean,
    kind: JIntArray<'local>,
    indices: JIntArray<'local>,
    probs: JFloatArray<'local>,
) -> jint {
    status(&mut unowned, |env| {
        let video = get::<Video>(session, Kind::Video)?;
        let remote = get::<Remote>(client, Kind::Client)?;
        if kind.is_null() || kind.len(env)? < 1 {
            return Err(fail(Status::NullPointer, "the kind array is null or empty"));
        }
        let planes = planes!(p0, rs0, ps0, p1, rs1, ps1, p2, rs2, ps2);
        let f = frame(
            env, format, width, height, planes, rotation, mirror, full_range,
        )?;
        let (k, answer) = match video.classify(remote, &f)? {
            VideoAnswer::Fresh(a) => (0, Some(a)),
            VideoAnswer::Reused(a) => (1, Some(a)),
            VideoAnswer::Withheld => (2, None),
        };
        kind.set_region(env, 0, &[k])?;
        if let Some(a) = answer {
            store_answer(env, &a, &indices, &probs)?;
        }
        Ok(())
    })
}

/// `void Native.videoFree(long handle)`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_edgehide_Native_videoFree<'local>(
    _unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
) {
    // SAFETY: the registry frees only live handles of this kind.
    let _ = std::panic::catch_unwind(|| unsafe {
        handles::free(handle as usize as *mut Video, Kind::Video)
    });
}

/// Test builds only (feature `test-keys`): deterministic keys, so the host
/// JVM tests can hold the Java path to the Rust one, bit for bit.
#[cfg(feature = "test-keys")]
mod test_keys {
    use edgehide::hazmat::{EncryptorHazmat, KeyHazmat};
    use edgehide::{OneTimeKey, Preprocessor, YuvFrame};
    use jni::objects::JByteArray;

    use super::*;

    fn seed(env: &Env<'_>, s: &JByteArray<'_>) -> Result<[u8; 32], Fail> {
        let mut out = [0i8; 32];
        if s.is_null() || s.len(env)? != 32 {
            return Err(fail(Status::InvalidArgument, "the seed must be 32 bytes"));
        }
        s.get_region(env, 0, &mut out)?;
        Ok(out.map(|b| b as u8))
    }

    /// The test picture both sides draw: luma and chroma from sample
    /// coordinates.
    pub(super) fn picture(w: usize, h: usize) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let y = (0..w * h)
            .map(|i| ((i % w) * 7 + (i / w) * 3) % 220 + 16)
            .map(|v| v as u8);
        let u = (0..cw * ch)
            .map(|i| ((i % cw) * 5 + (i / cw) * 11) % 200 + 28)
            .map(|v| v as u8);
        let v = (0..cw * ch)
            .map(|i| ((i % cw) * 13 + (i / cw) * 2) % 200 + 28)
            .map(|v| v as u8);
        (y.collect(), u.collect(), v.collect())
    }

    /// `int Native.testEncryptSeeded(long handle, <frame>, byte[] seed,
    /// FloatBuffer out)`: as `encrypt`, with the key drawn from `seed`.
    #[unsafe(no_mangle)]
    #[allow(clippy::too_many_arguments)]
    pub extern "system" fn Java_org_edgehide_Native_testEncryptSeeded<'local>(
        mut unowned: EnvUnowned<'local>,
        _class: JClass<'local>,
        handle: jlong,
        format: jint,
        width: jint,
        height: jint,
        p0: JByteBuffer<'local>,
        rs0: jint,
        ps0: jint,
        p1: JByteBuffer<'local>,
        rs1: jint,
        ps1: jint,
        p2: JByteBuffer<'local>,
        rs2: jint,
        ps2: jint,
        rotation: jint,
        mirror: jboolean,
        full_range: jboolean,
        key_seed: JByteArray<'local>,
        out: JByteBuffer<'local>,
    ) -> jint {
        status(&mut unowned, |env| {
            let device = get::<Device>(handle, Kind::Encryptor)?;
            let planes = planes!(p0, rs0, ps0, p1, rs1, ps1, p2, rs2, ps2);
            let f = frame(
                env, format, width, height, planes, rotation, mirror, full_range,
            )?;
            let enc = device.encryptor();
            let x = f.preprocess(&mut Preprocessor::new(enc.spec()))?;
            let key = OneTimeKey::insecure_from_seed(seed(env, &key_seed)?, enc)
                .map_err(BridgeError::from)?;
            Ok(enc
                .encrypt_cpu_into(&x, key, floats(env, &out)?)
                .map_err(BridgeError::from)?)
        })
    }

    /// `int Native.testRustPathSeeded(long handle, int width, int height,
    /// boolean fullRange, byte[] seed, FloatBuffer out)`: the test picture
    /// built in Rust as packed I420 and encrypted there.
    #[unsafe(no_mangle)]
    pub extern "system" fn Java_org_edgehide_Native_testRustPathSeeded<'local>(
        mut unowned: EnvUnowned<'local>,
        _class: JClass<'local>,
        handle: jlong,
        width: jint,
        height: jint,
        full_range: jboolean,
        key_seed: JByteArray<'local>,
        out: JByteBuffer<'local>,
    ) -> jint {
        status(&mut unowned, |env| {
            let device = get::<Device>(handle, Kind::Encryptor)?;
            let (w, h) = (width.max(1) as usize, height.max(1) as usize);
            let (y, u, v) = picture(w, h);
            let cw = w.div_ceil(2);
            let range = if full_range {
                edgehide::ColorRange::Full
            } else {
                edgehide::ColorRange::Video
            };
            let f = YuvFrame::i420(w as u32, h as u32, &y, w, &u, cw, &v, cw)
                .map_err(BridgeError::from)?
                .with_range(range);
            let enc = device.encryptor();
            let x = Preprocessor::new(enc.spec())
                .run_yuv(&f)
                .map_err(BridgeError::from)?;
            let key = OneTimeKey::insecure_from_seed(seed(env, &key_seed)?, enc)
                .map_err(BridgeError::from)?;
            Ok(enc
                .encrypt_cpu_into(&x, key, floats(env, &out)?)
                .map_err(BridgeError::from)?)
        })
    }
}

/// Test builds only: the bridge's cost, measured from the Rust side.
#[cfg(feature = "test-keys")]
mod bench {
    use super::*;

    /// `long Native.testRustEncryptNanos(long handle, <planes>, int
    /// iterations, FloatBuffer out)`: nanoseconds for `iterations`
    /// encryptions of the frame called from Rust (the work a JNI call does,
    /// without the call), or -1.
    #[unsafe(no_mangle)]
    #[allow(clippy::too_many_arguments)]
    pub extern "system" fn Java_org_edgehide_Native_testRustEncryptNanos<'local>(
        mut unowned: EnvUnowned<'local>,
        _class: JClass<'local>,
        handle: jlong,
        format: jint,
        width: jint,
        height: jint,
        p0: JByteBuffer<'local>,
        rs0: jint,
        ps0: jint,
        p1: JByteBuffer<'local>,
        rs1: jint,
        ps1: jint,
        p2: JByteBuffer<'local>,
        rs2: jint,
        ps2: jint,
        iterations: jint,
        out: JByteBuffer<'local>,
    ) -> jlong {
        let mut nanos = -1;
        status(&mut unowned, |env| {
            let device = get::<Device>(handle, Kind::Encryptor)?;
            let planes = planes!(p0, rs0, ps0, p1, rs1, ps1, p2, rs2, ps2);
            let f = frame(env, format, width, height, planes, 0, false, true)?;
            let out = floats(env, &out)?;
            let started = std::time::Instant::now();
            for _ in 0..iterations.max(0) {
                device.encrypt(&f, out)?;
            }
            nanos = started.elapsed().as_nanos() as jlong;
            Ok(())
        });
        nanos
    }
}
