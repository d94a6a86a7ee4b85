package org.edgehide;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;

/**
 * The native methods of libedgehide_jni. Each returns a status code (0 for
 * success); {@link #check} turns any other into a typed exception with the
 * message from {@link #lastError}. Package-private: apps use the classes
 * around it.
 */
final class Native {
    static {
        System.loadLibrary("edgehide_jni");
    }

    private Native() {}

    static native String version();

    static native String lastError();

    static native int encryptorOpen(String sidecarJson, String sidecarPath, String poolPath, String keyPath, int backend, long[] out);

    static native String encryptorBackend(long handle);

    static native String encryptorFallbackReason(long handle);

    static native int encryptorOutputLength(long handle);

    static native int encrypt(long handle, int format, int width, int height,
            ByteBuffer p0, int rowStride0, int pixelStride0,
            ByteBuffer p1, int rowStride1, int pixelStride1,
            ByteBuffer p2, int rowStride2, int pixelStride2,
            int rotationDegrees, boolean mirror, boolean fullRange, FloatBuffer out);

    static native void encryptorFree(long handle);

    static native int clientConnect(String url, String model, long encryptor, int timeoutMs, int retries,
            int topK, boolean f16, String tlsRootsPem, long[] out);

    static native int classify(long client, int format, int width, int height,
            ByteBuffer p0, int rowStride0, int pixelStride0,
            ByteBuffer p1, int rowStride1, int pixelStride1,
            ByteBuffer p2, int rowStride2, int pixelStride2,
            int rotationDegrees, boolean mirror, boolean fullRange, int[] indices, float[] probabilities);

    static native String clientLabel(long client, int index);

    static native void clientFree(long handle);

    static native int videoNew(int budget, int windowSeconds, long[] out);

    static native int videoClassify(long session, long client, int format, int width, int height,
            ByteBuffer p0, int rowStride0, int pixelStride0,
            ByteBuffer p1, int rowStride1, int pixelStride1,
            ByteBuffer p2, int rowStride2, int pixelStride2,
            int rotationDegrees, boolean mirror, boolean fullRange, int[] kind, int[] indices,
            float[] probabilities);

    static native void videoFree(long handle);

    // Test builds of the library only (feature test-keys): deterministic keys.
    static native int testEncryptSeeded(long handle, int format, int width, int height,
            ByteBuffer p0, int rowStride0, int pixelStride0,
            ByteBuffer p1, int rowStride1, int pixelStride1,
            ByteBuffer p2, int rowStride2, int pixelStride2,
            int rotationDegrees, boolean mirror, boolean fullRange, byte[] seed, FloatBuffer out);

    static native int testRustPathSeeded(long handle, int width, int height, boolean fullRange, byte[] seed,
            FloatBuffer out);

    static native long testRustEncryptNanos(long handle, int format, int width, int height,
            ByteBuffer p0, int rowStride0, int pixelStride0,
            ByteBuffer p1, int rowStride1, int pixelStride1,
            ByteBuffer p2, int rowStride2, int pixelStride2, int iterations, FloatBuffer out);

    /** Throws the exception for {@code status}, if it is not 0. */
    static void check(int status) {
        if (status != 0) {
            throw EdgeHideException.of(status, lastError());
        }
    }
}
