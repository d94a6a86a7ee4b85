package org.edgehide;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.Test;

/**
 * The Java API on the host JVM (under -Xcheck:jni), against the library built
 * for linux-x86_64 with its test-only keys, and against a real
 * `edgehide serve` started by android/edgehide/run-tests.sh, which passes:
 * edgehide.sidecar, edgehide.url, edgehide.frames, edgehide.labels,
 * edgehide.n, edgehide.eval, edgehide.pool (a small corpus), edgehide.bench,
 * and for a DisguisedNets model on the same server edgehide.dn.sidecar,
 * edgehide.dn.key, edgehide.dn.n and edgehide.dn.eval.
 */
class EdgeHideTest {
    static String prop(String name) {
        String v = System.getProperty(name);
        assertNotNull(v, "system property " + name + " (run android/edgehide/run-tests.sh)");
        return v;
    }

    static Encryptor cpuEncryptor() {
        return Encryptor.openFile(prop("edgehide.sidecar"), null, Encryptor.Backend.CPU);
    }

    /** A YUV_420_888 frame as devices deliver it: padded rows, interleaved chroma (pixel stride 2). */
    static Frame yuvFrame(int w, int h, int pad, byte[] y, byte[] u, byte[] v) {
        int cw = (w + 1) / 2, ch = (h + 1) / 2;
        int yStride = w + pad, cStride = 2 * cw + pad;
        ByteBuffer yb = ByteBuffer.allocateDirect(yStride * h);
        for (int r = 0; r < h; r++) {
            yb.position(r * yStride);
            yb.put(y, r * w, w);
        }
        ByteBuffer uv = ByteBuffer.allocateDirect(cStride * ch);
        for (int r = 0; r < ch; r++) {
            for (int c = 0; c < cw; c++) {
                uv.put(r * cStride + 2 * c, u[r * cw + c]);
                uv.put(r * cStride + 2 * c + 1, v[r * cw + c]);
            }
        }
        yb.clear();
        ByteBuffer ub = uv.duplicate();
        ByteBuffer vb = uv.duplicate().position(1).slice();
        return Frame.yuv420(w, h, yb, yStride, ub, vb, cStride, 2, 0, true);
    }

    /** The picture the Rust side draws in testRustPathSeeded. */
    static byte[][] picture(int w, int h) {
        int cw = (w + 1) / 2, ch = (h + 1) / 2;
        byte[] y = new byte[w * h], u = new byte[cw * ch], v = new byte[cw * ch];
        for (int i = 0; i < w * h; i++) y[i] = (byte) (((i % w) * 7 + (i / w) * 3) % 220 + 16);
        for (int i = 0; i < cw * ch; i++) {
            u[i] = (byte) (((i % cw) * 5 + (i / cw) * 11) % 200 + 28);
            v[i] = (byte) (((i % cw) * 13 + (i / cw) * 2) % 200 + 28);
        }
        return new byte[][] {y, u, v};
    }

    static int seeded(Encryptor e, Frame f, byte[] seed, FloatBuffer out) {
        return Native.testEncryptSeeded(e.handle.get(), f.format, f.width, f.height,
                f.planes[0], f.rowStrides[0], f.pixelStrides[0],
                f.planes[1], f.rowStrides[1], f.pixelStrides[1],
                f.planes[2], f.rowStrides[2], f.pixelStrides[2],
                f.rotationDegrees, f.mirror, f.fullRange, seed, out);
    }

    @Test
    void yuv420WithPaddedStridesEncryptsLikeTheRustPath() {
        try (Encryptor e = cpuEncryptor()) {
            int w = 640, h = 480;
            byte[][] p = picture(w, h);
            byte[] seed = new byte[32];
            seed[0] = 42;
            FloatBuffer viaJava = e.newOutputBuffer(), viaRust = e.newOutputBuffer();
            Native.check(seeded(e, yuvFrame(w, h, 32, p[0], p[1], p[2]), seed, viaJava));
            Native.check(Native.testRustPathSeeded(e.handle.get(), w, h, true, seed, viaRust));
            float[] a = new float[e.outputLength()], b = new float[e.outputLength()];
            viaJava.get(a);
            viaRust.get(b);
            assertArrayEquals(b, a, "the Java path and the Rust path differ");
            boolean negative = false;
            for (float x : a) negative |= x < 0;
            assertTrue(negative, "no sign was flipped");
        }
    }

    @Test
    void encryptsYuvAndRgbaWithFreshKeys() {
        try (Encryptor e = cpuEncryptor()) {
            assertEquals("cpu", e.backend());
            assertNull(e.fallbackReason());
            assertEquals(28 * 28, e.outputLength());
            byte[][] p = picture(320, 240);
            FloatBuffer a = e.newOutputBuffer(), b = e.newOutputBuffer();
            e.encrypt(yuvFrame(320, 240, 0, p[0], p[1], p[2]), a);
            e.encrypt(yuvFrame(320, 240, 0, p[0], p[1], p[2]), b);
            assertTrue(!a.equals(b), "two encryptions of one frame are the same: a key was reused");
            ByteBuffer rgba = ByteBuffer.allocateDirect(100 * 4 * 80 + 16);
            e.encrypt(Frame.rgba(100, 80, rgba, 100 * 4, 90), a);
            e.encrypt(Frame.rgba(100, 80, rgba, 100 * 4, 0).mirrored(), a);
        }
        assertTrue(Native.version().startsWith("0."));
    }

    @Test
    void badInputIsATypedExceptionAndTheVmLives() {
        try (Encryptor e = cpuEncryptor()) {
            FloatBuffer out = e.newOutputBuffer();
            byte[][] p = picture(64, 48);
            // Null and heap buffers are refused in Java.
            assertThrows(IllegalArgumentException.class,
                    () -> Frame.yuv420(64, 48, null, 64, null, null, 64, 2, 0, true));
            assertThrows(IllegalArgumentException.class,
                    () -> Frame.rgba(8, 8, ByteBuffer.allocate(256), 32, 0));
            assertThrows(IllegalArgumentException.class,
                    () -> e.encrypt(yuvFrame(64, 48, 0, p[0], p[1], p[2]), FloatBuffer.allocate(784)));
            // Short planes and wrong strides.
            ByteBuffer shortY = ByteBuffer.allocateDirect(64 * 47);
            ByteBuffer uv = ByteBuffer.allocateDirect(64 * 24);
            assertThrows(EdgeHideException.InvalidFrame.class, () -> e.encrypt(
                    Frame.yuv420(64, 48, shortY, 64, uv, uv.duplicate().position(1).slice(), 64, 2, 0, true), out));
            ByteBuffer y = ByteBuffer.allocateDirect(64 * 48);
            assertThrows(EdgeHideException.InvalidFrame.class, () -> e.encrypt(
                    Frame.yuv420(64, 48, y, 63, uv, uv.duplicate().position(1).slice(), 64, 2, 0, true), out));
            assertThrows(EdgeHideException.InvalidFrame.class, () -> e.encrypt(
                    Frame.yuv420(64, 48, y, 64, uv, uv.duplicate().position(1).slice(), 64, 0, 0, true), out));
            assertThrows(EdgeHideException.InvalidArgument.class, () -> e.encrypt(
                    Frame.yuv420(64, 48, y, 64, uv, uv.duplicate().position(1).slice(), 64, 2, 45, true), out));
            // A wrong output size, an unknown format.
            FloatBuffer small = ByteBuffer.allocateDirect(100).order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer();
            assertThrows(EdgeHideException.InvalidArgument.class,
                    () -> e.encrypt(yuvFrame(64, 48, 0, p[0], p[1], p[2]), small));
            EdgeHideException unknown = assertThrows(EdgeHideException.InvalidArgument.class, () -> Native.check(
                    Native.encrypt(e.handle.get(), 77, 8, 8, y, 8, 1, null, 0, 1, null, 0, 1, 0, false, true, out)));
            assertEquals(4, unknown.status());
        }
        // Bad sidecars and corpora.
        assertThrows(EdgeHideException.InvalidModel.class,
                () -> Encryptor.open("{not json", null, Encryptor.Backend.CPU));
        assertThrows(EdgeHideException.InvalidModel.class,
                () -> Encryptor.openFile("/nonexistent.json", null, Encryptor.Backend.CPU));
        assertThrows(EdgeHideException.InvalidArgument.class,
                () -> Encryptor.open(null, null, Encryptor.Backend.CPU));
        // Closed handles.
        Encryptor closed = cpuEncryptor();
        FloatBuffer out = closed.newOutputBuffer();
        closed.close();
        closed.close();
        byte[][] p = picture(64, 48);
        assertThrows(EdgeHideException.ClosedHandle.class,
                () -> closed.encrypt(yuvFrame(64, 48, 0, p[0], p[1], p[2]), out));
        assertEquals(0, closed.outputLength());
        assertNull(closed.backend());
        // A server that is down.
        try (Encryptor e = cpuEncryptor()) {
            assertThrows(EdgeHideException.Transport.class, () -> Client.connect(
                    "http://127.0.0.1:9", "fashion-mnist-k4", e, new Client.Options().timeoutMs(2000).retries(0)));
        }
    }

    /** The resident memory of this process, in KiB. */
    static long rssKib() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
    }

    @Test
    void tenThousandOpenEncryptCloseCyclesLeaveMemoryFlat() throws IOException {
        // A sidecar bound to no corpus, and a small corpus, so a cycle costs little.
        String sidecar = Files.readString(Path.of(prop("edgehide.sidecar")))
                .replaceAll(",\\s*\"pool_fingerprint\"\\s*:\\s*\"[^\"]*\"", "");
        byte[][] p = picture(64, 48);
        Frame frame = yuvFrame(64, 48, 4, p[0], p[1], p[2]);
        FloatBuffer out;
        try (Encryptor e = Encryptor.open(sidecar, prop("edgehide.pool"), Encryptor.Backend.CPU)) {
            out = e.newOutputBuffer();
        }
        long before = 0;
        for (int i = 0; i < 10_000; i++) {
            if (i == 1000) {
                System.gc();
                before = rssKib();
            }
            try (Encryptor e = Encryptor.open(sidecar, prop("edgehide.pool"), Encryptor.Backend.CPU)) {
                e.encrypt(frame, out);
            }
        }
        System.gc();
        long after = rssKib();
        System.out.printf("10,000 open/encrypt/close cycles: resident %d KiB after 1,000, %d KiB after 10,000%n",
                before, after);
        // 9,000 leaked encryptors of this model would hold over 50 MB.
        assertTrue(after - before < 8_000, "resident memory grew by " + (after - before) + " KiB");
    }

    static byte[][] mnistAsYuv(byte[] grey) {
        byte[] y = new byte[28 * 28];
        for (int i = 0; i < y.length; i++) y[i] = grey[i];
        byte[] c = new byte[14 * 14];
        java.util.Arrays.fill(c, (byte) 128);
        return new byte[][] {y, c, c.clone()};
    }

    @Test
    void classifiesFashionMnistEndToEndAndFromEightThreads() throws Exception {
        byte[] frames = Files.readAllBytes(Path.of(prop("edgehide.frames")));
        byte[] labels = Files.readAllBytes(Path.of(prop("edgehide.labels")));
        int n = Integer.parseInt(prop("edgehide.n"));
        double eval = Double.parseDouble(prop("edgehide.eval"));
        try (Encryptor e = cpuEncryptor();
                Client client = Client.connect(prop("edgehide.url"), "fashion-mnist-k4", e,
                        new Client.Options().topK(3))) {
            // Full-range grey frames: the luma plane is the picture.
            ExecutorService pool = Executors.newFixedThreadPool(8);
            List<Future<Integer>> parts = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                final int from = t * n / 8, to = (t + 1) * n / 8;
                parts.add(pool.submit(() -> {
                    int correct = 0;
                    for (int i = from; i < to; i++) {
                        byte[] grey = java.util.Arrays.copyOfRange(frames, i * 784, (i + 1) * 784);
                        byte[][] p = mnistAsYuv(grey);
                        Classification c = client.classify(yuvFrame(28, 28, 8, p[0], p[1], p[2]));
                        if (c.index() == labels[i]) correct++;
                    }
                    return correct;
                }));
            }
            int correct = 0;
            for (Future<Integer> f : parts) correct += f.get();
            pool.shutdown();
            double accuracy = (double) correct / n;
            System.out.printf("Java -> JNI -> client -> server, 8 threads, YUV_420_888: %d of %d (%.4f); edgehide eval %.4f%n",
                    correct, n, accuracy, eval);
            assertTrue(Math.abs(accuracy - eval) <= 0.02, "accuracy " + accuracy + " against eval's " + eval);
            byte[][] p = mnistAsYuv(java.util.Arrays.copyOfRange(frames, 0, 784));
            Classification c = client.classify(yuvFrame(28, 28, 0, p[0], p[1], p[2]));
            assertEquals(3, c.topIndices().length);
            assertEquals(c.index(), c.topIndices()[0]);
            assertNotNull(c.label());
            try (VideoSession session = new VideoSession(1, 3600)) {
                Frame f = yuvFrame(28, 28, 0, p[0], p[1], p[2]);
                assertEquals(VideoSession.Answer.Kind.FRESH, session.classify(client, f).kind);
                VideoSession.Answer again = session.classify(client, f);
                assertEquals(VideoSession.Answer.Kind.REUSED, again.kind);
                assertNotNull(again.classification);
            }
        }
    }

    @Test
    void aDisguisedNetsModelOpensWithItsKeyFileAndClassifies() throws Exception {
        String sidecar = prop("edgehide.dn.sidecar"), key = prop("edgehide.dn.key");
        String json = Files.readString(Path.of(sidecar));
        // Without its key, with a bad key file, with another scheme's sidecar.
        assertThrows(EdgeHideException.InvalidModel.class, () -> Encryptor.open(json, null, Encryptor.Backend.CPU));
        EdgeHideException bad = assertThrows(EdgeHideException.InvalidModel.class,
                () -> Encryptor.openKeyedFile(sidecar, sidecar, Encryptor.Backend.CPU));
        assertEquals(18, bad.status());
        assertThrows(EdgeHideException.InvalidModel.class,
                () -> Encryptor.openKeyedFile(sidecar, "/nonexistent.ehkey", Encryptor.Backend.CPU));
        assertThrows(EdgeHideException.InvalidModel.class,
                () -> Encryptor.openKeyedFile(prop("edgehide.sidecar"), key, Encryptor.Backend.CPU));
        assertThrows(EdgeHideException.InvalidArgument.class,
                () -> Encryptor.openKeyed(json, null, Encryptor.Backend.CPU));
        assertThrows(EdgeHideException.InvalidArgument.class, () -> Native.check(Native.encryptorOpen(
                json, null, prop("edgehide.pool"), key, Encryptor.Backend.CPU.ordinal(), new long[1])));

        byte[] frames = Files.readAllBytes(Path.of(prop("edgehide.frames")));
        byte[] labels = Files.readAllBytes(Path.of(prop("edgehide.labels")));
        int n = Integer.parseInt(prop("edgehide.dn.n"));
        double eval = Double.parseDouble(prop("edgehide.dn.eval"));
        try (Encryptor e = Encryptor.openKeyed(json, key, Encryptor.Backend.CPU)) {
            // One deployment key and no noise: a frame encrypts the same every time.
            byte[][] p = picture(320, 240);
            FloatBuffer a = e.newOutputBuffer(), b = e.newOutputBuffer();
            e.encrypt(yuvFrame(320, 240, 16, p[0], p[1], p[2]), a);
            e.encrypt(yuvFrame(320, 240, 0, p[0], p[1], p[2]), b);
            assertEquals(a, b, "padding changed the encryption, or a deterministic scheme was not");
            // The InstaHide model on the same server expects another encryption.
            assertThrows(EdgeHideException.ServerMismatch.class,
                    () -> Client.connect(prop("edgehide.url"), "fashion-mnist-k4", e, new Client.Options()));
            try (Client client = Client.connect(prop("edgehide.url"), "fashion-mnist-dn-b4", e, new Client.Options())) {
                int correct = 0;
                for (int i = 0; i < n; i++) {
                    byte[][] q = mnistAsYuv(java.util.Arrays.copyOfRange(frames, i * 784, (i + 1) * 784));
                    if (client.classify(yuvFrame(28, 28, 8, q[0], q[1], q[2])).index() == labels[i]) correct++;
                }
                double accuracy = (double) correct / n;
                System.out.printf("DisguisedNets through JNI: %d of %d (%.4f); edgehide eval --key %.4f%n",
                        correct, n, accuracy, eval);
                assertTrue(Math.abs(accuracy - eval) <= 0.02, "accuracy " + accuracy + " against eval's " + eval);
            }
        }
    }

    @Test
    void theBridgeCostsLittleAgainstTheSameWorkInRust() {
        boolean full = Boolean.parseBoolean(System.getProperty("edgehide.bench", "false"));
        int w = 1920, h = 1080, iterations = full ? 300 : 5;
        byte[][] p = picture(w, h);
        try (Encryptor e = cpuEncryptor()) {
            Frame f = yuvFrame(w, h, 64, p[0], p[1], p[2]);
            FloatBuffer out = e.newOutputBuffer();
            double[] ratios = new double[full ? 5 : 1];
            for (int round = 0; round < ratios.length; round++) {
                for (int i = 0; i < iterations / 5 + 1; i++) e.encrypt(f, out); // warm-up
                long start = System.nanoTime();
                for (int i = 0; i < iterations; i++) e.encrypt(f, out);
                long jni = System.nanoTime() - start;
                long rust = Native.testRustEncryptNanos(e.handle.get(), f.format, w, h,
                        f.planes[0], f.rowStrides[0], f.pixelStrides[0],
                        f.planes[1], f.rowStrides[1], f.pixelStrides[1],
                        f.planes[2], f.rowStrides[2], f.pixelStrides[2], iterations, out);
                assertTrue(rust > 0);
                ratios[round] = (double) jni / rust;
                System.out.printf("1920x1080 YUV_420_888 to an encryption: %.1f us through JNI, %.1f us from Rust (%.3fx)%n",
                        jni / 1e3 / iterations, rust / 1e3 / iterations, ratios[round]);
            }
        }
    }
}
