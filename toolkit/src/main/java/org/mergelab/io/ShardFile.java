package org.mergelab.io;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/** One file of a checkpoint being written: its tensors declared up front, then written in any order. */
interface ShardFile extends Closeable {
    Path path();

    void write(String name, float[] data) throws IOException;

    void writeChunk(String name, long offset, float[] data, int n) throws IOException;

    void markWritten(String name);

    void writeRaw(String name, ByteBuffer bytes) throws IOException;

    /** Flushes the file; fails if a declared tensor was never written. */
    void finish() throws IOException;
}
