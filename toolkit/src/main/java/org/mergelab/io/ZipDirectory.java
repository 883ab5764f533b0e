package org.mergelab.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The central directory of a zip archive, read without extracting anything: where each stored entry's bytes lie in
 * the file, so they can be memory-mapped (torch.save writes uncompressed entries). Handles ZIP64 archives (files and
 * entries over 4 GiB). Every offset and size is checked against the file's length.
 */
final class ZipDirectory {
    record Entry(String name, int method, long dataOffset, long size, long crc) {}

    private static final int EOCD_SIG = 0x06054b50, EOCD64_SIG = 0x06064b50, LOCATOR64_SIG = 0x07064b50;
    private static final int CENTRAL_SIG = 0x02014b50, LOCAL_SIG = 0x04034b50;
    private static final int MAX_COMMENT = 0xFFFF;

    private ZipDirectory() {}

    static Map<String, Entry> read(Path path, FileChannel ch) throws IOException {
        long fileSize = ch.size();
        int tailLen = (int) Math.min(fileSize, 22 + MAX_COMMENT + 20);
        ByteBuffer tail = readAt(ch, fileSize - tailLen, tailLen);
        int eocd = -1;
        for (int i = tailLen - 22; i >= 0; i--) {
            if (tail.getInt(i) == EOCD_SIG) {
                eocd = i;
                break;
            }
        }
        if (eocd < 0) {
            throw new CheckpointException(path + ": no zip end-of-directory record; the file is truncated or not a"
                    + " torch.save archive");
        }
        long entries = tail.getShort(eocd + 10) & 0xFFFF;
        long dirSize = tail.getInt(eocd + 12) & 0xFFFFFFFFL;
        long dirOffset = tail.getInt(eocd + 16) & 0xFFFFFFFFL;
        if (eocd >= 20 && tail.getInt(eocd - 20) == LOCATOR64_SIG) {
            long eocd64 = tail.getLong(eocd - 20 + 8);
            if (eocd64 < 0 || eocd64 + 56 > fileSize) {
                throw new CheckpointException(path + ": ZIP64 directory record points outside the file (truncated?)");
            }
            ByteBuffer z = readAt(ch, eocd64, 56);
            if (z.getInt(0) != EOCD64_SIG) throw new CheckpointException(path + ": corrupt ZIP64 directory record");
            entries = z.getLong(32);
            dirSize = z.getLong(40);
            dirOffset = z.getLong(48);
        }
        if (dirOffset < 0 || dirSize < 0 || dirOffset + dirSize > fileSize || dirSize > Integer.MAX_VALUE
                || entries < 0 || entries > dirSize / 46) {
            throw new CheckpointException(path + ": zip directory (" + entries + " entries, " + dirSize + " bytes at "
                    + dirOffset + ") does not fit the file's " + fileSize + " bytes; the file is truncated or corrupt");
        }
        ByteBuffer dir = readAt(ch, dirOffset, (int) dirSize);
        Map<String, Entry> out = new LinkedHashMap<>();
        int p = 0;
        for (long i = 0; i < entries; i++) {
            if (p + 46 > dir.limit() || dir.getInt(p) != CENTRAL_SIG) {
                throw new CheckpointException(path + ": zip directory entry " + i + " is corrupt");
            }
            int method = dir.getShort(p + 10) & 0xFFFF;
            long crc = dir.getInt(p + 16) & 0xFFFFFFFFL;
            long compSize = dir.getInt(p + 20) & 0xFFFFFFFFL;
            long size = dir.getInt(p + 24) & 0xFFFFFFFFL;
            int nameLen = dir.getShort(p + 28) & 0xFFFF, extraLen = dir.getShort(p + 30) & 0xFFFF;
            int commentLen = dir.getShort(p + 32) & 0xFFFF;
            long localOffset = dir.getInt(p + 42) & 0xFFFFFFFFL;
            if (p + 46L + nameLen + extraLen + commentLen > dir.limit()) {
                throw new CheckpointException(path + ": zip directory entry " + i + " runs past the directory");
            }
            byte[] nameBytes = new byte[nameLen];
            dir.get(p + 46, nameBytes);
            String name = new String(nameBytes, StandardCharsets.UTF_8);
            // ZIP64 extra field: the 64-bit values replace, in order, those saturated at 0xFFFFFFFF.
            int e = p + 46 + nameLen, end = e + extraLen;
            while (e + 4 <= end) {
                int id = dir.getShort(e) & 0xFFFF, len = dir.getShort(e + 2) & 0xFFFF;
                if (id == 1) {
                    int q = e + 4;
                    if (size == 0xFFFFFFFFL && q + 8 <= e + 4 + len) { size = dir.getLong(q); q += 8; }
                    if (compSize == 0xFFFFFFFFL && q + 8 <= e + 4 + len) { compSize = dir.getLong(q); q += 8; }
                    if (localOffset == 0xFFFFFFFFL && q + 8 <= e + 4 + len) { localOffset = dir.getLong(q); }
                }
                e += 4 + len;
            }
            if (localOffset < 0 || localOffset + 30 > fileSize) {
                throw new CheckpointException(path + ": zip entry " + name + " starts outside the file (truncated?)");
            }
            ByteBuffer local = readAt(ch, localOffset, 30);
            if (local.getInt(0) != LOCAL_SIG) {
                throw new CheckpointException(path + ": zip entry " + name + " has no local header at " + localOffset);
            }
            long dataOffset = localOffset + 30 + (local.getShort(26) & 0xFFFF) + (local.getShort(28) & 0xFFFF);
            if (compSize < 0 || dataOffset + compSize > fileSize) {
                throw new CheckpointException(path + ": zip entry " + name + " (" + compSize + " bytes at " + dataOffset
                        + ") runs past the end of the file (" + fileSize + " bytes); the file is truncated");
            }
            out.put(name, new Entry(name, method, dataOffset, method == 0 ? size : compSize, crc));
            p += 46 + nameLen + extraLen + commentLen;
        }
        return Collections.unmodifiableMap(out);
    }

    static ByteBuffer readAt(FileChannel ch, long pos, int len) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(len).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            if (ch.read(b, pos + b.position()) < 0) throw new IOException("unexpected end of file at " + (pos + b.position()));
        }
        return b.flip();
    }
}
