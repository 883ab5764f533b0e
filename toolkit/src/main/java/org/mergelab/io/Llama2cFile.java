package org.mergelab.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A llama2.c checkpoint in karpathy's original ("v0", legacy) layout: seven int32 header fields (dim, hidden_dim,
 * n_layers, n_heads, n_kv_heads, vocab_size, seq_len; a negative vocab_size means an untied classifier), then
 * float32 arrays stacked over layers: tok_embeddings, rms_att, wq, wk, wv, wo, rms_ffn, w1, w2, w3, rms_final,
 * freq_cis_real, freq_cis_imag and, if untied, wcls. Matrices are row-major [out][in]; RoPE rotates interleaved
 * pairs (x[2i], x[2i+1]).
 */
public final class Llama2cFile {
    /** One llama2.c array for one layer (layer -1 for arrays that are not per layer). */
    public record Entry(String name, int layer, long[] shape, long floatOffset) {
        public long numel() { return TensorInfo.numel(shape); }
    }

    public record Config(int dim, int hiddenDim, int nLayers, int nHeads, int nKvHeads, int vocabSize, int seqLen,
                         boolean sharedClassifier) {
        public int headSize() { return dim / nHeads; }

        public int kvDim() { return dim * nKvHeads / nHeads; }
    }

    private static final int HEADER_BYTES = 7 * 4;

    private final Path path;
    private final Config config;
    private final List<Entry> entries;

    private Llama2cFile(Path path, Config config, List<Entry> entries) {
        this.path = path;
        this.config = config;
        this.entries = entries;
    }

    public static Llama2cFile open(Path path) {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < HEADER_BYTES) {
                throw new CheckpointException(path + ": " + size + " bytes is too short for a llama2.c header");
            }
            ByteBuffer h = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            while (h.hasRemaining()) {
                if (ch.read(h, h.position()) < 0) break;
            }
            h.flip();
            if (h.getInt(0) == 0x616b3432) {
                throw new CheckpointException(path + ": llama2.c export version 1/2 (magic 'ak42') is not supported;"
                        + " export with --version 0 (legacy)");
            }
            int dim = h.getInt(), hidden = h.getInt(), layers = h.getInt(), heads = h.getInt(), kvHeads = h.getInt();
            int vocab = h.getInt(), seq = h.getInt();
            boolean shared = vocab > 0;
            vocab = Math.abs(vocab);
            if (dim <= 0 || hidden <= 0 || layers <= 0 || heads <= 0 || kvHeads <= 0 || vocab == 0 || seq <= 0
                    || dim % heads != 0 || heads % kvHeads != 0 || (dim / heads) % 2 != 0) {
                throw new CheckpointException(path + ": header (dim " + dim + ", hidden " + hidden + ", layers " + layers
                        + ", heads " + heads + ", kv_heads " + kvHeads + ", vocab " + vocab + ", seq_len " + seq
                        + ") is not a llama2.c v0 model");
            }
            Config c = new Config(dim, hidden, layers, heads, kvHeads, vocab, seq, shared);
            List<Entry> entries = layout(c);
            Entry last = entries.get(entries.size() - 1);
            long expected = HEADER_BYTES + 4 * (last.floatOffset() + last.numel());
            if (size != expected) {
                throw new CheckpointException(path + ": a llama2.c v0 model with this header has " + expected
                        + " bytes but the file has " + size + (size < expected ? " (truncated)" : ""));
            }
            return new Llama2cFile(path, c, Collections.unmodifiableList(entries));
        } catch (IOException e) {
            throw new CheckpointException(path + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** The v0 layout: every array in file order, split per layer. */
    static List<Entry> layout(Config c) {
        List<Entry> out = new ArrayList<>();
        long off = 0;
        int d = c.dim(), kv = c.kvDim(), hid = c.hiddenDim(), L = c.nLayers();
        off = add(out, "tok_embeddings", -1, new long[] {c.vocabSize(), d}, off);
        off = addLayers(out, "rms_att", L, new long[] {d}, off);
        off = addLayers(out, "wq", L, new long[] {d, d}, off);
        off = addLayers(out, "wk", L, new long[] {kv, d}, off);
        off = addLayers(out, "wv", L, new long[] {kv, d}, off);
        off = addLayers(out, "wo", L, new long[] {d, d}, off);
        off = addLayers(out, "rms_ffn", L, new long[] {d}, off);
        off = addLayers(out, "w1", L, new long[] {hid, d}, off);
        off = addLayers(out, "w2", L, new long[] {d, hid}, off);
        off = addLayers(out, "w3", L, new long[] {hid, d}, off);
        off = add(out, "rms_final", -1, new long[] {d}, off);
        off = add(out, "freq_cis_real", -1, new long[] {c.seqLen(), c.headSize() / 2}, off);
        off = add(out, "freq_cis_imag", -1, new long[] {c.seqLen(), c.headSize() / 2}, off);
        if (!c.sharedClassifier()) add(out, "wcls", -1, new long[] {c.vocabSize(), d}, off);
        return out;
    }

    private static long add(List<Entry> out, String name, int layer, long[] shape, long off) {
        Entry e = new Entry(name, layer, shape, off);
        out.add(e);
        return off + e.numel();
    }

    private static long addLayers(List<Entry> out, String name, int layers, long[] shape, long off) {
        for (int l = 0; l < layers; l++) off = add(out, name, l, shape, off);
        return off;
    }

    public Path path() { return path; }

    public Config config() { return config; }

    public List<Entry> entries() { return entries; }

    public Entry entry(String name, int layer) {
        for (Entry e : entries) {
            if (e.name().equals(name) && e.layer() == layer) return e;
        }
        throw new IllegalArgumentException(path + ": no array " + name + (layer >= 0 ? "[" + layer + "]" : ""));
    }

    public float[] read(Entry e) {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            ByteBuffer b = ch.map(FileChannel.MapMode.READ_ONLY, HEADER_BYTES + 4 * e.floatOffset(), 4 * e.numel())
                    .order(ByteOrder.LITTLE_ENDIAN);
            float[] out = new float[Math.toIntExact(e.numel())];
            b.asFloatBuffer().get(out);
            return out;
        } catch (IOException ex) {
            throw new CheckpointException(path + ": cannot read " + e.name() + ": " + ex.getMessage(), ex);
        }
    }
}
