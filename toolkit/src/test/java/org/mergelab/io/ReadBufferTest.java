package org.mergelab.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

class ReadBufferTest {
    @Test
    void eachWindowStartsAtAnAddressCongruentToItsFilePositionModulo64() {
        ReadBuffer b = new ReadBuffer();
        for (long pos : new long[] {0, 1, 8, 16, 63, 64, 4095, 4096 + 24, 23_072, (1L << 33) + 40, -1}) {
            for (int length : new int[] {0, 7, 4096, 1 << 20}) {
                ByteBuffer w = b.window(pos, length);
                assertEquals(pos < 0 ? 0 : pos % 64, w.alignmentOffset(0, 64), "position " + pos + ", " + length);
                assertEquals(0, w.position());
                assertEquals(length, w.limit());
                assertEquals(ByteOrder.LITTLE_ENDIAN, w.order());
                assertEquals(true, w.isDirect());
            }
        }
    }

    @Test
    void windowsReuseOneAllocationWhileItIsLargeEnough() {
        ReadBuffer b = new ReadBuffer();
        ByteBuffer first = b.window(0, 1 << 20);
        int capacity = b.capacity();
        first.put(5, (byte) 42);
        // Any lead with the same length fits: no reallocation, the same memory seen 5 bytes further on.
        ByteBuffer second = b.window(5, 1 << 20);
        assertEquals(capacity, b.capacity());
        assertEquals(42, second.get(0));
        b.window(63, (1 << 20) + 1);
        assertEquals(capacity, b.capacity(), "a lead of 63 and one more byte still fit");
        b.window(0, 2 << 20);
        assertEquals(true, b.capacity() >= 2 << 20, "a longer read grows it");
        assertThrows(IllegalArgumentException.class, () -> b.window(0, -1));
    }
}
