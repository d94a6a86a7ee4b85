package org.edgehide;

import java.nio.ByteBuffer;

/**
 * A camera frame read in place: CameraX's {@code YUV_420_888} (three direct
 * plane buffers with row and pixel strides) or one {@code RGBA_8888} plane.
 * Buffers must be direct: a heap buffer is refused with an
 * {@link IllegalArgumentException} (copying it would put the frame in the
 * Java heap a second time). The buffers are read from their start.
 */
public final class Frame {
    static final int YUV_420_888 = 4;
    static final int RGBA_8888 = 12;

    final int format;
    final int width;
    final int height;
    final ByteBuffer[] planes = new ByteBuffer[3];
    final int[] rowStrides = new int[3];
    final int[] pixelStrides = {1, 1, 1};
    final int rotationDegrees;
    final boolean mirror;
    final boolean fullRange;

    private Frame(int format, int width, int height, int rotationDegrees, boolean mirror, boolean fullRange) {
        this.format = format;
        this.width = width;
        this.height = height;
        this.rotationDegrees = rotationDegrees;
        this.mirror = mirror;
        this.fullRange = fullRange;
    }

    /**
     * A {@code YUV_420_888} frame as {@code ImageProxy.getPlanes()} gives it.
     * CameraX analysis frames are full range ({@code fullRange = true});
     * {@code rotationDegrees} is {@code ImageInfo.getRotationDegrees()}.
     */
    public static Frame yuv420(int width, int height,
            ByteBuffer y, int yRowStride,
            ByteBuffer u, ByteBuffer v, int uvRowStride, int uvPixelStride,
            int rotationDegrees, boolean fullRange) {
        Frame f = new Frame(YUV_420_888, width, height, rotationDegrees, false, fullRange);
        f.set(0, y, yRowStride, 1);
        f.set(1, u, uvRowStride, uvPixelStride);
        f.set(2, v, uvRowStride, uvPixelStride);
        return f;
    }

    /** An {@code RGBA_8888} frame of {@code rowStride} bytes per row. */
    public static Frame rgba(int width, int height, ByteBuffer rgba, int rowStride, int rotationDegrees) {
        Frame f = new Frame(RGBA_8888, width, height, rotationDegrees, false, true);
        f.set(0, rgba, rowStride, 4);
        return f;
    }

    /** The same frame mirrored left and right after rotating (front camera). */
    public Frame mirrored() {
        Frame f = new Frame(format, width, height, rotationDegrees, true, fullRange);
        System.arraycopy(planes, 0, f.planes, 0, 3);
        System.arraycopy(rowStrides, 0, f.rowStrides, 0, 3);
        System.arraycopy(pixelStrides, 0, f.pixelStrides, 0, 3);
        return f;
    }

    private void set(int i, ByteBuffer b, int rowStride, int pixelStride) {
        if (b == null) {
            throw new IllegalArgumentException("plane " + i + " is null");
        }
        if (!b.isDirect()) {
            throw new IllegalArgumentException("plane " + i + " is a heap buffer; edgehide reads direct buffers only");
        }
        planes[i] = b;
        rowStrides[i] = rowStride;
        pixelStrides[i] = pixelStride;
    }
}
