package org.edgehide;

import java.lang.ref.Cleaner;

/**
 * A camera stream under the scene budget: near-identical frames count against
 * their scene, and past the budget the scene's last answer is reused instead
 * of sending another encryption of it (every extra encryption of a frame
 * leaks more).
 */
public final class VideoSession implements AutoCloseable {
    /** What a frame got. */
    public static final class Answer {
        /** FRESH: encrypted and classified; REUSED: nothing sent, the scene's last answer; WITHHELD: nothing sent, no answer yet. */
        public enum Kind { FRESH, REUSED, WITHHELD }

        public final Kind kind;
        /** Null when WITHHELD. */
        public final Classification classification;

        Answer(Kind kind, Classification classification) {
            this.kind = kind;
            this.classification = classification;
        }
    }

    private final Handle handle;
    private final Cleaner.Cleanable cleanable;

    /** At most {@code budget} encryptions per scene per {@code windowSeconds} (0 and 0: one per hour). */
    public VideoSession(int budget, int windowSeconds) {
        long[] out = new long[1];
        Native.check(Native.videoNew(budget, windowSeconds, out));
        Cleaner.Cleanable[] c = new Cleaner.Cleanable[1];
        handle = Handle.of(this, out[0], Native::videoFree, c);
        cleanable = c[0];
    }

    /** Classifies {@code frame} through {@code client}, or reuses its scene's answer. */
    public Answer classify(Client client, Frame frame) {
        int[] kind = new int[1];
        int[] idx = new int[client.topK()];
        float[] p = new float[client.topK()];
        Native.check(Native.videoClassify(handle.get(), client.handle.get(), frame.format, frame.width, frame.height,
                frame.planes[0], frame.rowStrides[0], frame.pixelStrides[0],
                frame.planes[1], frame.rowStrides[1], frame.pixelStrides[1],
                frame.planes[2], frame.rowStrides[2], frame.pixelStrides[2],
                frame.rotationDegrees, frame.mirror, frame.fullRange, kind, idx, p));
        Answer.Kind k = Answer.Kind.values()[kind[0]];
        return new Answer(k, k == Answer.Kind.WITHHELD ? null : client.answer(idx, p));
    }

    @Override
    public void close() {
        cleanable.clean();
    }
}
