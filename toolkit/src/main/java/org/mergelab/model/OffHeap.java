package org.mergelab.model;

import java.lang.ref.Cleaner;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;

/**
 * Float arrays outside the Java heap, where BLAS reads them in place: the weights of every matrix product. Memory
 * comes from malloc, not from JavaCPP's allocator, so that a model's size is not capped by JavaCPP's accounting (by
 * default the heap's -Xmx); it is freed when the array becomes unreachable.
 */
final class OffHeap {
    private static final Cleaner CLEANER = Cleaner.create();

    private OffHeap() {}

    /** {@code n} floats, uninitialised; {@code owner}'s becoming unreachable frees them. */
    static FloatPointer allocate(Object owner, long n) {
        Pointer raw = Pointer.malloc(n * Float.BYTES);
        if (raw == null || raw.isNull()) {
            throw new OutOfMemoryError("cannot allocate " + n * Float.BYTES + " bytes off the heap for weights");
        }
        FloatPointer p = new FloatPointer(raw).capacity(n).limit(n);
        CLEANER.register(owner, () -> Pointer.free(raw));
        return p;
    }
}
