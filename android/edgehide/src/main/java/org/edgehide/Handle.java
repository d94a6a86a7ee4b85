package org.edgehide;

import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;

/**
 * A native handle freed once: by close(), or by the Cleaner when the owner is
 * collected without close() (java.lang.ref.Cleaner: Java 9, Android API 33).
 * On older Android versions a forgotten handle stays allocated until the
 * process ends: close() it (try-with-resources).
 */
final class Handle implements Runnable {
    private static final Cleaner CLEANER = Cleaner.create();

    private final AtomicLong value;
    private final LongConsumer free;

    private Handle(long value, LongConsumer free) {
        this.value = new AtomicLong(value);
        this.free = free;
    }

    /** Registers `owner` so that `value` is freed when it is collected. */
    static Handle of(Object owner, long value, LongConsumer free, Cleaner.Cleanable[] out) {
        Handle h = new Handle(value, free);
        out[0] = CLEANER.register(owner, h);
        return h;
    }

    /** The handle; after close, the closed value (the library refuses it). */
    long get() {
        return value.get();
    }

    @Override
    public void run() {
        long v = value.get();
        if (v != 0) {
            free.accept(v);
        }
    }
}
