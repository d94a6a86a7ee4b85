package org.edgehide;

import java.lang.ref.Cleaner;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * Encrypts camera frames for one model: an InstaHide model with its public
 * corpus, each frame with a fresh one-time key, or a DisguisedNets model
 * with its deployment key. Keys and frames stay in native memory: Java sees
 * the handle and the encryption only (a DisguisedNets key is read from its
 * file by the native library). Thread-safe: one encryptor may serve
 * several threads (frames are preprocessed one at a time).
 */
public final class Encryptor implements AutoCloseable {
    /** Which processor encrypts. */
    public enum Backend { AUTO, CPU, GPU }

    final Handle handle;
    private final Cleaner.Cleanable cleanable;

    private Encryptor(long h) {
        Cleaner.Cleanable[] c = new Cleaner.Cleanable[1];
        handle = Handle.of(this, h, Native::encryptorFree, c);
        cleanable = c[0];
    }

    /** An encryptor for the InstaHide model whose sidecar is {@code sidecarJson}, with the corpus at {@code poolPath} (the bundled one when null). */
    public static Encryptor open(String sidecarJson, String poolPath, Backend backend) {
        return opened(sidecarJson, null, poolPath, null, backend);
    }

    /** As {@link #open}, from a sidecar file. */
    public static Encryptor openFile(String sidecarPath, String poolPath, Backend backend) {
        return opened(null, sidecarPath, poolPath, null, backend);
    }

    /**
     * An encryptor for the DisguisedNets model whose sidecar is {@code sidecarJson}, with the
     * deployment key in the file at {@code keyPath} (app-private storage; the key is read by the
     * native library and never enters the Java heap).
     */
    public static Encryptor openKeyed(String sidecarJson, String keyPath, Backend backend) {
        return opened(sidecarJson, null, null, requireKey(keyPath), backend);
    }

    /** As {@link #openKeyed}, from a sidecar file. */
    public static Encryptor openKeyedFile(String sidecarPath, String keyPath, Backend backend) {
        return opened(null, sidecarPath, null, requireKey(keyPath), backend);
    }

    private static String requireKey(String keyPath) {
        if (keyPath == null) {
            throw new EdgeHideException.InvalidArgument(1, "keyPath is null");
        }
        return keyPath;
    }

    private static Encryptor opened(String json, String path, String pool, String key, Backend backend) {
        long[] out = new long[1];
        Native.check(Native.encryptorOpen(json, path, pool, key, backend.ordinal(), out));
        return new Encryptor(out[0]);
    }

    /** "cpu", or "gpu: adapter". */
    public String backend() {
        return Native.encryptorBackend(handle.get());
    }

    /** Why AUTO ended on the CPU, or null. */
    public String fallbackReason() {
        return Native.encryptorFallbackReason(handle.get());
    }

    /** Floats per encryption (channels x height x width). */
    public int outputLength() {
        return Native.encryptorOutputLength(handle.get());
    }

    /** A direct, native-order buffer of {@link #outputLength()} floats. */
    public FloatBuffer newOutputBuffer() {
        return ByteBuffer.allocateDirect(outputLength() * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    /** Encrypts {@code frame} with a fresh key into {@code out} (direct, native order, exactly {@link #outputLength()} floats). */
    public void encrypt(Frame frame, FloatBuffer out) {
        if (out == null || !out.isDirect() || out.order() != ByteOrder.nativeOrder()) {
            throw new IllegalArgumentException("out must be a direct FloatBuffer in native order (newOutputBuffer())");
        }
        Native.check(Native.encrypt(handle.get(), frame.format, frame.width, frame.height,
                frame.planes[0], frame.rowStrides[0], frame.pixelStrides[0],
                frame.planes[1], frame.rowStrides[1], frame.pixelStrides[1],
                frame.planes[2], frame.rowStrides[2], frame.pixelStrides[2],
                frame.rotationDegrees, frame.mirror, frame.fullRange, out));
    }

    /** Frees the native encryptor; clients made from it keep working. */
    @Override
    public void close() {
        cleanable.clean();
    }
}
