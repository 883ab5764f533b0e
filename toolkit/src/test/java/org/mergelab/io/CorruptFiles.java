package org.mergelab.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Builds safetensors files byte by byte, so tests can write exactly the damage they want. */
final class CorruptFiles {
    private CorruptFiles() {}

    /** A file whose 8-byte length field is the header's real length. */
    static Path write(Path file, String header, byte[] data) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        return write(file, h.length, h, data);
    }

    /** A file whose length field says {@code declaredLen}, whatever follows. */
    static Path write(Path file, long declaredLen, byte[] header, byte[] data) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(declaredLen).put(header).put(data);
        Files.write(file, b.array());
        return file;
    }
}
