package org.mergelab.io;

import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;

/**
 * Writes a state dict the way {@code torch.save} does (the zip format of torch 1.6 and later), so that
 * {@code torch.load(..., weights_only=True)} and transformers read it: {@code archive/data.pkl} (an OrderedDict of
 * {@code _rebuild_tensor_v2} calls on persistent storages, pickle protocol 2), {@code archive/byteorder},
 * {@code archive/data/N} (one uncompressed, 64-byte aligned storage per tensor) and {@code archive/version}; ZIP64
 * records when the file passes 4 GiB. Like {@link SafetensorsWriter}, tensors are declared first, the layout is fixed
 * at creation, and data may then be written in any order from any thread; {@link #finish()} computes the CRCs.
 */
public final class TorchWriter implements ShardFile {
    private static final String ARCHIVE = "archive";
    private static final int ALIGN = 64;
    private static final long U32 = 0xFFFFFFFFL;

    private record Record(String name, long headerOffset, long dataOffset, long size, byte[] inline) {}

    private final Path path;
    private final FileChannel channel;
    private final List<Record> records = new ArrayList<>();
    private final Map<String, Integer> storageOf = new LinkedHashMap<>();
    private final List<TensorSpec> specs;
    private final BitSet written = new BitSet();
    private long end;

    private TorchWriter(Path path, FileChannel channel, List<TensorSpec> specs) {
        this.path = path;
        this.channel = channel;
        this.specs = specs;
    }

    public static TorchWriter create(Path path, List<TensorSpec> specs) throws IOException {
        for (TensorSpec s : specs) {
            if (s.dtype() == DType.F8_E4M3 || s.dtype() == DType.F8_E5M2) {
                throw new IllegalArgumentException(s.name() + ": float8 tensors are not written to .bin files");
            }
        }
        FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE, StandardOpenOption.READ);
        TorchWriter w = new TorchWriter(path, ch, List.copyOf(specs));
        try {
            w.layOut();
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
        return w;
    }

    public Path path() { return path; }

    private void layOut() throws IOException {
        long pos = 0;
        pos = addRecord(ARCHIVE + "/data.pkl", pos, pickle(specs));
        pos = addRecord(ARCHIVE + "/byteorder", pos, "little".getBytes(StandardCharsets.US_ASCII));
        for (int i = 0; i < specs.size(); i++) {
            storageOf.put(specs.get(i).name(), records.size());
            pos = addRecord(ARCHIVE + "/data/" + i, pos, specs.get(i).byteSize());
        }
        pos = addRecord(ARCHIVE + "/version", pos, "3\n".getBytes(StandardCharsets.US_ASCII));
        end = pos;
        // Reserve the whole data area so positional writes from several threads never race on the file's length.
        if (end > 0) channel.write(ByteBuffer.allocate(1), end - 1);
        for (Record r : records) {
            if (r.inline() != null) write(ByteBuffer.wrap(r.inline()), r.dataOffset());
        }
    }

    private long addRecord(String name, long pos, byte[] inline) {
        long next = addRecord(name, pos, inline.length);
        Record r = records.remove(records.size() - 1);
        records.add(new Record(r.name(), r.headerOffset(), r.dataOffset(), r.size(), inline));
        return next;
    }

    /** Places a record at {@code pos}: local header, name, extra fields (ZIP64 sizes, padding), then the data. */
    private long addRecord(String name, long pos, long size) {
        int nameLen = name.getBytes(StandardCharsets.UTF_8).length;
        long unpadded = pos + 30 + nameLen + (size >= U32 ? 20 : 0) + 4;
        long data = (unpadded + ALIGN - 1) / ALIGN * ALIGN;
        records.add(new Record(name, pos, data, size, null));
        return data + size;
    }

    private byte[] localHeader(Record r, long crc) {
        byte[] name = r.name().getBytes(StandardCharsets.UTF_8);
        boolean zip64 = r.size() >= U32;
        int extra = (int) (r.dataOffset() - r.headerOffset() - 30 - name.length);
        ByteBuffer b = ByteBuffer.allocate(30 + name.length + extra).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0x04034b50).putShort((short) (zip64 ? 45 : 20)).putShort((short) 0).putShort((short) 0)
                .putShort((short) 0).putShort((short) 0x21).putInt((int) crc)
                .putInt((int) (zip64 ? U32 : r.size())).putInt((int) (zip64 ? U32 : r.size()))
                .putShort((short) name.length).putShort((short) extra).put(name);
        if (zip64) b.putShort((short) 1).putShort((short) 16).putLong(r.size()).putLong(r.size());
        int pad = b.remaining() - 4;
        b.putShort((short) 0x4246).putShort((short) pad); // "FB": padding, as torch.save aligns its records
        return b.array();
    }

    /** Encodes float32 data as the declared dtype and writes the whole tensor. Thread-safe. */
    public void write(String name, float[] data) throws IOException {
        TensorSpec s = spec(name);
        writeChunk(name, 0, data, Math.toIntExact(s.numel()));
        markWritten(name);
    }

    /** Writes elements [offset, offset + n) of a tensor; {@link #markWritten} once every element is written. */
    public void writeChunk(String name, long offset, float[] data, int n) throws IOException {
        TensorSpec s = spec(name);
        if (offset < 0 || offset + n > s.numel()) {
            throw new IllegalArgumentException(name + ": chunk [" + offset + ", " + (offset + n) + ") outside its "
                    + s.numel() + " elements");
        }
        ByteBuffer buf = ByteBuffer.allocate(n * s.dtype().size()).order(ByteOrder.LITTLE_ENDIAN);
        Conversions.fromFloats(data, n, s.dtype(), buf);
        write(buf, records.get(storageOf.get(name)).dataOffset() + offset * s.dtype().size());
    }

    /** Writes a tensor's already-encoded little-endian bytes (integer tensors are copied, never converted). */
    public void writeRaw(String name, ByteBuffer bytes) throws IOException {
        TensorSpec s = spec(name);
        if (bytes.remaining() != s.byteSize()) {
            throw new IllegalArgumentException(name + ": expected " + s.byteSize() + " bytes, got " + bytes.remaining());
        }
        write(bytes.duplicate(), records.get(storageOf.get(name)).dataOffset());
        markWritten(name);
    }

    public void markWritten(String name) {
        spec(name);
        synchronized (written) {
            written.set(storageOf.get(name));
        }
    }

    private TensorSpec spec(String name) {
        Integer r = storageOf.get(name);
        if (r == null) throw new IllegalArgumentException(path + ": tensor '" + name + "' was not declared");
        return specs.get(r - 2);
    }

    private void write(ByteBuffer b, long pos) throws IOException {
        b.position(0);
        while (b.hasRemaining()) pos += channel.write(b, pos);
    }

    /** Checks every tensor was written, then writes the local headers (with CRCs) and the zip directory. */
    public void finish() throws IOException {
        for (Map.Entry<String, Integer> e : storageOf.entrySet()) {
            synchronized (written) {
                if (!written.get(e.getValue())) {
                    throw new IOException(path + ": tensor '" + e.getKey() + "' was declared but never written");
                }
            }
        }
        ByteArrayOutputStream dir = new ByteArrayOutputStream();
        for (Record r : records) {
            long crc = crc(r);
            write(ByteBuffer.wrap(localHeader(r, crc)), r.headerOffset());
            dir.writeBytes(centralEntry(r, crc));
        }
        long dirOffset = end;
        byte[] central = dir.toByteArray();
        ByteBuffer tail = ByteBuffer.allocate(central.length + 56 + 20 + 22).order(ByteOrder.LITTLE_ENDIAN);
        tail.put(central);
        boolean zip64 = dirOffset >= U32;
        if (zip64) {
            long eocd64 = dirOffset + central.length;
            tail.putInt(0x06064b50).putLong(44).putShort((short) 45).putShort((short) 45).putInt(0).putInt(0)
                    .putLong(records.size()).putLong(records.size()).putLong(central.length).putLong(dirOffset);
            tail.putInt(0x07064b50).putInt(0).putLong(eocd64).putInt(1);
        }
        tail.putInt(0x06054b50).putShort((short) 0).putShort((short) 0).putShort((short) records.size())
                .putShort((short) records.size()).putInt(central.length).putInt((int) (zip64 ? U32 : dirOffset))
                .putShort((short) 0);
        tail.flip();
        write(tail.slice(), dirOffset);
        channel.truncate(dirOffset + tail.limit());
        channel.force(true);
    }

    private long crc(Record r) throws IOException {
        CRC32 crc = new CRC32();
        for (long done = 0; done < r.size(); ) {
            long n = Math.min(1L << 30, r.size() - done);
            crc.update(channel.map(FileChannel.MapMode.READ_ONLY, r.dataOffset() + done, n));
            done += n;
        }
        return crc.getValue();
    }

    private byte[] centralEntry(Record r, long crc) {
        byte[] name = r.name().getBytes(StandardCharsets.UTF_8);
        boolean bigSize = r.size() >= U32, bigOffset = r.headerOffset() >= U32;
        int extra = (bigSize ? 16 : 0) + (bigOffset ? 8 : 0);
        ByteBuffer b = ByteBuffer.allocate(46 + name.length + (extra > 0 ? 4 + extra : 0)).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0x02014b50).putShort((short) 45).putShort((short) 45).putShort((short) 0).putShort((short) 0)
                .putShort((short) 0).putShort((short) 0x21).putInt((int) crc)
                .putInt((int) (bigSize ? U32 : r.size())).putInt((int) (bigSize ? U32 : r.size()))
                .putShort((short) name.length).putShort((short) (extra > 0 ? 4 + extra : 0)).putShort((short) 0)
                .putShort((short) 0).putShort((short) 0).putInt(0).putInt((int) (bigOffset ? U32 : r.headerOffset()))
                .put(name);
        if (extra > 0) {
            b.putShort((short) 1).putShort((short) extra);
            if (bigSize) b.putLong(r.size()).putLong(r.size());
            if (bigOffset) b.putLong(r.headerOffset());
        }
        return b.array();
    }

    /** The state dict's pickle, as torch.save writes it for contiguous tensors (protocol 2, no memo). */
    static byte[] pickle(List<TensorSpec> specs) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.write(0x80);
        o.write(2);
        global(o, "collections", "OrderedDict");
        o.write(')');
        o.write('R');
        o.write('(');
        for (int i = 0; i < specs.size(); i++) {
            TensorSpec s = specs.get(i);
            unicode(o, s.name());
            global(o, "torch._utils", "_rebuild_tensor_v2");
            o.write('(');
            o.write('(');
            unicode(o, "storage");
            global(o, "torch", storageClass(s.dtype()));
            unicode(o, Integer.toString(i));
            unicode(o, "cpu");
            integer(o, s.numel());
            o.write('t');
            o.write('Q');
            integer(o, 0);
            long[] shape = s.shape();
            o.write('(');
            for (long d : shape) integer(o, d);
            o.write('t');
            o.write('(');
            long stride = 1;
            long[] strides = new long[shape.length];
            for (int k = shape.length - 1; k >= 0; k--) {
                strides[k] = stride;
                stride *= shape[k];
            }
            for (long st : strides) integer(o, st);
            o.write('t');
            o.write(0x89);
            global(o, "collections", "OrderedDict");
            o.write(')');
            o.write('R');
            o.write('t');
            o.write('R');
        }
        o.write('u');
        o.write('.');
        return o.toByteArray();
    }

    private static String storageClass(DType d) {
        return switch (d) {
            case F64 -> "DoubleStorage";
            case F32 -> "FloatStorage";
            case F16 -> "HalfStorage";
            case BF16 -> "BFloat16Storage";
            case I64 -> "LongStorage";
            case I32 -> "IntStorage";
            case I16 -> "ShortStorage";
            case I8 -> "CharStorage";
            case U8 -> "ByteStorage";
            case BOOL -> "BoolStorage";
            default -> throw new IllegalArgumentException("no torch storage class for " + d);
        };
    }

    private static void global(ByteArrayOutputStream o, String module, String name) {
        o.write('c');
        o.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII));
    }

    private static void unicode(ByteArrayOutputStream o, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        o.write('X');
        o.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(b.length).array());
        o.writeBytes(b);
    }

    private static void integer(ByteArrayOutputStream o, long v) {
        if (v >= 0 && v < 256) {
            o.write('K');
            o.write((int) v);
        } else if (v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE) {
            o.write('J');
            o.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v).array());
        } else {
            o.write(0x8a);
            o.write(8);
            o.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array());
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
