package org.edgehide;

import java.lang.ref.Cleaner;

/**
 * A client of one model on one Open Inference Protocol server. Only
 * encryptions leave the device; a retry resends the same encryption. Calls
 * block: use a background thread (ImageAnalysis's executor). Thread-safe:
 * several threads may classify through one client.
 */
public final class Client implements AutoCloseable {
    /** Connection settings. */
    public static final class Options {
        int timeoutMs = 10_000;
        int retries = 2;
        int topK = 3;
        boolean halfPrecision = false;
        String tlsRootsPem = null;

        /** Per attempt, in milliseconds. */
        public Options timeoutMs(int v) { timeoutMs = v; return this; }
        /** Further attempts after a transport failure, 503 or 504. */
        public Options retries(int v) { retries = v; return this; }
        /** Classes reported per frame. */
        public Options topK(int v) { topK = v; return this; }
        /** Send half-precision values. */
        public Options halfPrecision(boolean v) { halfPrecision = v; return this; }
        /** Extra trusted roots (PEM) for an https server with a private CA. */
        public Options tlsRootsPem(String v) { tlsRootsPem = v; return this; }
    }

    final Handle handle;
    private final Cleaner.Cleanable cleanable;
    private final int topK;

    private Client(long h, int topK) {
        Cleaner.Cleanable[] c = new Cleaner.Cleanable[1];
        handle = Handle.of(this, h, Native::clientFree, c);
        cleanable = c[0];
        this.topK = topK;
    }

    /** Connects to {@code model} at {@code url} and checks that the server's model expects what {@code encryptor} encrypts (nothing is sent otherwise). */
    public static Client connect(String url, String model, Encryptor encryptor, Options options) {
        Options o = options == null ? new Options() : options;
        long[] out = new long[1];
        Native.check(Native.clientConnect(url, model, encryptor.handle.get(), o.timeoutMs, o.retries, o.topK,
                o.halfPrecision, o.tlsRootsPem, out));
        return new Client(out[0], Math.max(1, o.topK));
    }

    /** Encrypts {@code frame} with a fresh key, sends the encryption, returns the answer. */
    public Classification classify(Frame frame) {
        int[] idx = new int[topK];
        float[] p = new float[topK];
        Native.check(Native.classify(handle.get(), frame.format, frame.width, frame.height,
                frame.planes[0], frame.rowStrides[0], frame.pixelStrides[0],
                frame.planes[1], frame.rowStrides[1], frame.pixelStrides[1],
                frame.planes[2], frame.rowStrides[2], frame.pixelStrides[2],
                frame.rotationDegrees, frame.mirror, frame.fullRange, idx, p));
        return answer(idx, p);
    }

    Classification answer(int[] idx, float[] p) {
        return new Classification(idx[0], Native.clientLabel(handle.get(), idx[0]), idx, p);
    }

    int topK() {
        return topK;
    }

    @Override
    public void close() {
        cleanable.clean();
    }
}
