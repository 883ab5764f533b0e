package org.mergelab.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A PyTorch checkpoint as {@code torch.save} writes it since torch 1.6 ({@code pytorch_model.bin}): a zip archive
 * holding {@code ARCHIVE/data.pkl} (the state dict, pickled) and one uncompressed entry {@code ARCHIVE/data/KEY} per
 * storage. Opening reads the zip directory and unpickles the state dict with {@link RestrictedUnpickler} (which
 * never runs code); each tensor's bytes are then memory-mapped straight from the archive when read, so opening a
 * 10 GB shard costs kilobytes. Tensors that are strided views (a transpose saved as is) are gathered element by
 * element; ordinary state dicts are contiguous.
 */
public final class TorchFile implements TensorFile {
    private final Path path;
    private final FileChannel channel;
    private final Map<String, TensorInfo> tensors;
    /** Non-contiguous tensors: their strides and storage start (bytes), for the gathering reader. */
    private final Map<String, Strided> strided;

    private record Strided(long storageStart, long offset, long[] shape, long[] stride) {}

    private TorchFile(Path path, FileChannel channel, Map<String, TensorInfo> tensors, Map<String, Strided> strided) {
        this.path = path;
        this.channel = channel;
        this.tensors = tensors;
        this.strided = strided;
    }

    public static TorchFile open(Path path) {
        FileChannel ch;
        try {
            ch = FileChannel.open(path, StandardOpenOption.READ);
        } catch (IOException e) {
            throw new CheckpointException(path + ": cannot open PyTorch checkpoint: " + e.getMessage(), e);
        }
        try {
            return read(path, ch);
        } catch (IOException e) {
            closeQuietly(ch);
            throw new CheckpointException(path + ": cannot read PyTorch checkpoint: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly(ch);
            throw e;
        }
    }

    private static TorchFile read(Path path, FileChannel ch) throws IOException {
        long size = ch.size();
        if (size < 4) throw new CheckpointException(path + ": " + size + " bytes is not a PyTorch checkpoint");
        int magic = ZipDirectory.readAt(ch, 0, 4).getInt(0);
        if (magic != 0x04034b50) {
            if ((magic & 0xFF) == 0x80) {
                throw new CheckpointException(path + ": a PyTorch checkpoint in the legacy (before torch 1.6) format,"
                        + " which is not read; re-save it with torch.save in torch 1.6 or newer, or convert it to"
                        + " safetensors");
            }
            throw new CheckpointException(path + ": not a PyTorch checkpoint (no zip header)");
        }
        Map<String, ZipDirectory.Entry> zip = ZipDirectory.read(path, ch);
        String prefix = null;
        for (String name : zip.keySet()) {
            if (name.endsWith("/data.pkl") && name.indexOf('/') == name.length() - "/data.pkl".length()) {
                prefix = name.substring(0, name.length() - "data.pkl".length());
                break;
            }
        }
        if (prefix == null) throw new CheckpointException(path + ": the archive has no ARCHIVE/data.pkl record");
        ZipDirectory.Entry byteorder = zip.get(prefix + "byteorder");
        if (byteorder != null) {
            String order = new String(bytes(path, ch, byteorder, 16), StandardCharsets.US_ASCII).trim();
            if (!order.equals("little")) {
                throw new CheckpointException(path + ": stored with byte order '" + order + "'; only little-endian is read");
            }
        }
        ZipDirectory.Entry pkl = zip.get(prefix + "data.pkl");
        byte[] pickle = bytes(path, ch, pkl, 256L << 20);
        Object root = RestrictedUnpickler.load(path + " (" + pkl.name() + ")", pickle);
        if (!(root instanceof Map<?, ?> dict)) {
            throw new CheckpointException(path + ": holds " + (root == null ? "None" : root.getClass().getSimpleName())
                    + ", not a state dict of tensors");
        }
        Map<String, TensorInfo> infos = new LinkedHashMap<>();
        Map<String, Strided> strided = new HashMap<>();
        for (Map.Entry<?, ?> e : dict.entrySet()) {
            // Non-tensor entries (extra state, step counters) are not weights; the tensors are what a checkpoint is.
            if (!(e.getKey() instanceof String name) || !(e.getValue() instanceof RestrictedUnpickler.TensorRef t)) {
                continue;
            }
            ZipDirectory.Entry data = zip.get(prefix + "data/" + t.storage().key());
            String what = path + ": tensor '" + name + "'";
            if (data == null) {
                throw new CheckpointException(what + " uses storage '" + t.storage().key() + "', which the archive lacks");
            }
            if (data.method() != 0) {
                throw new CheckpointException(what + ": its storage is compressed; torch.save stores storages as is");
            }
            int elem = t.dtype().size();
            long storageBytes = t.storage().untyped() ? t.storage().numel() : t.storage().numel() * elem;
            if (data.size() < storageBytes) {
                throw new CheckpointException(what + ": storage '" + t.storage().key() + "' should hold " + storageBytes
                        + " bytes but its record has " + data.size() + " (truncated)");
            }
            long numel, lastIndex;
            try {
                numel = TensorInfo.numel(t.shape());
                lastIndex = t.offset();
                for (int i = 0; i < t.shape().length; i++) {
                    if (t.shape()[i] > 0) lastIndex = Math.addExact(lastIndex, Math.multiplyExact(t.shape()[i] - 1, t.stride()[i]));
                }
            } catch (ArithmeticException ex) {
                throw new CheckpointException(what + ": shape " + TensorInfo.shapeString(t.shape()) + " overflows");
            }
            if (numel > 0 && (lastIndex + 1) * elem > storageBytes) {
                throw new CheckpointException(what + ": " + TensorInfo.shapeString(t.shape()) + " at offset " + t.offset()
                        + " reaches element " + lastIndex + " of a storage of " + storageBytes / elem + " elements");
            }
            long begin = data.dataOffset() + t.offset() * elem;
            infos.put(name, new TensorInfo(name, path, t.dtype(), t.shape(), begin, begin + numel * elem));
            if (numel > 1 && !contiguous(t.shape(), t.stride())) {
                strided.put(name, new Strided(data.dataOffset(), t.offset(), t.shape(), t.stride()));
            }
        }
        return new TorchFile(path, ch, Collections.unmodifiableMap(infos), strided);
    }

    private static boolean contiguous(long[] shape, long[] stride) {
        long expected = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] != 1 && stride[i] != expected) return false;
            expected *= shape[i];
        }
        return true;
    }

    private static byte[] bytes(Path path, FileChannel ch, ZipDirectory.Entry e, long max) throws IOException {
        if (e.method() != 0) throw new CheckpointException(path + ": record " + e.name() + " is compressed");
        if (e.size() > max) throw new CheckpointException(path + ": record " + e.name() + " has an implausible "
                + e.size() + " bytes");
        return ZipDirectory.readAt(ch, e.dataOffset(), (int) e.size()).array();
    }

    @Override
    public Path path() { return path; }

    @Override
    public Map<String, TensorInfo> tensors() { return tensors; }

    /** Whether a tensor is a strided view rather than a contiguous block. */
    public boolean isContiguous(String name) { return !strided.containsKey(name); }

    @Override
    public ByteBuffer map(TensorInfo t) {
        if (strided.containsKey(t.name())) {
            ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(t.byteSize())).order(ByteOrder.LITTLE_ENDIAN);
            gather(t, 0, t.numel(), out);
            return out.flip();
        }
        if (t.byteSize() > Integer.MAX_VALUE) {
            throw new CheckpointException(path + ": tensor '" + t.name() + "' has " + t.byteSize()
                    + " bytes, more than one buffer maps; read it in pieces with readFloats(t, offset, ...)");
        }
        return mapRange(t, t.begin(), t.byteSize());
    }

    private ByteBuffer mapRange(TensorInfo t, long from, long length) {
        try {
            return channel.map(FileChannel.MapMode.READ_ONLY, from, length).order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new CheckpointException(path + ": cannot map tensor '" + t.name() + "': " + e.getMessage(), e);
        }
    }

    @Override
    public void readFloats(TensorInfo t, long offset, float[] dst, int dstOff, int n) {
        if (offset < 0 || n < 0 || offset + n > t.numel()) {
            throw new IllegalArgumentException(t + ": elements [" + offset + ", " + (offset + n) + ") are outside its "
                    + t.numel());
        }
        int size = t.dtype().size();
        if (strided.containsKey(t.name())) {
            ByteBuffer b = ByteBuffer.allocate(n * size).order(ByteOrder.LITTLE_ENDIAN);
            gather(t, offset, n, b);
            Conversions.toFloats(b.flip(), t.dtype(), dst, dstOff, n);
            return;
        }
        int perWindow = SafetensorsFile.WINDOW_BYTES / size;
        for (int done = 0; done < n; ) {
            int k = Math.min(perWindow, n - done);
            Conversions.toFloats(mapRange(t, t.begin() + (offset + done) * size, (long) k * size), t.dtype(), dst,
                    dstOff + done, k);
            done += k;
        }
    }

    @Override
    public long filePosition(TensorInfo t, long from) {
        return strided.containsKey(t.name()) ? -1 : t.begin() + from;
    }

    @Override
    public void readBytes(TensorInfo t, long from, ByteBuffer dst) {
        TensorBytes.checkRange(t, from, dst.remaining());
        int size = t.dtype().size();
        if (strided.containsKey(t.name())) {
            if (from % size != 0 || dst.remaining() % size != 0) {
                throw new IllegalArgumentException(t + ": bytes [" + from + ", " + (from + dst.remaining())
                        + ") do not start and end on elements of a strided view");
            }
            gather(t, from / size, dst.remaining() / size, dst);
            return;
        }
        TensorBytes.read(path, channel, t, filePosition(t, from), dst);
    }

    /** Copies elements [from, from + n) of a strided tensor, in row-major order, into {@code out}. */
    private void gather(TensorInfo t, long from, long n, ByteBuffer out) {
        Strided s = strided.get(t.name());
        int size = t.dtype().size();
        int rank = s.shape().length;
        long last = s.offset();
        for (int i = 0; i < rank; i++) last += (s.shape()[i] - 1) * s.stride()[i];
        long span = (last - s.offset() + 1) * size;
        if (span > Integer.MAX_VALUE) {
            throw new CheckpointException(path + ": tensor '" + t.name() + "' is a strided view spanning " + span
                    + " bytes; such views over 2 GiB are not read");
        }
        ByteBuffer storage = mapRange(t, s.storageStart() + s.offset() * size, span);
        long[] idx = new long[rank];
        long rest = from;
        for (int i = rank - 1; i >= 0; i--) {
            idx[i] = rest % s.shape()[i];
            rest /= s.shape()[i];
        }
        for (long k = 0; k < n; k++) {
            long e = 0;
            for (int i = 0; i < rank; i++) e += idx[i] * s.stride()[i];
            int at = (int) (e * size);
            for (int b = 0; b < size; b++) out.put(storage.get(at + b));
            for (int i = rank - 1; i >= 0; i--) {
                if (++idx[i] < s.shape()[i]) break;
                idx[i] = 0;
            }
        }
    }

    @Override
    public void close() {
        closeQuietly(channel);
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // read-only: nothing to lose
        }
    }
}
