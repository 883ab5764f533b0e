package org.mergelab.model.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The BPE model of tokenizer.json, as the tokenizers library applies it to one pre-tokenized word: characters (or,
 * with byte_fallback, the {@code <0xXX>} tokens of an unknown character's bytes; else unk, fused when fuse_unk), then
 * repeatedly the mergeable adjacent pair of lowest merge rank, leftmost first. With ignore_merges a word that is
 * itself in the vocabulary is one token.
 */
final class Bpe {
    final Map<String, Integer> vocab;
    private final Map<Long, long[]> merges; // (left, right) -> (rank, merged id)
    private final Integer unkId;
    private final boolean byteFallback, fuseUnk, ignoreMerges;
    private final String prefix, suffix;
    private final Map<String, int[]> cache = new ConcurrentHashMap<>();

    private Bpe(Map<String, Integer> vocab, Map<Long, long[]> merges, Integer unkId, boolean byteFallback,
                boolean fuseUnk, boolean ignoreMerges, String prefix, String suffix) {
        this.vocab = vocab;
        this.merges = merges;
        this.unkId = unkId;
        this.byteFallback = byteFallback;
        this.fuseUnk = fuseUnk;
        this.ignoreMerges = ignoreMerges;
        this.prefix = prefix;
        this.suffix = suffix;
    }

    static Bpe parse(JsonNode m, String where) {
        String type = m.path("type").asText("BPE");
        if (!type.equals("BPE")) {
            throw new TokenizerException(where + ": model type '" + type + "' is not supported (only BPE)");
        }
        if (m.hasNonNull("dropout") && m.get("dropout").asDouble() > 0) {
            throw new TokenizerException(where + ": BPE dropout is not supported");
        }
        Map<String, Integer> vocab = new HashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = m.path("vocab").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            vocab.put(e.getKey(), e.getValue().asInt());
        }
        Map<Long, long[]> merges = new HashMap<>();
        int rank = 0;
        for (JsonNode mg : m.path("merges")) {
            String a, b;
            if (mg.isArray()) {
                a = mg.get(0).asText();
                b = mg.get(1).asText();
            } else {
                String s = mg.asText();
                int sp = s.indexOf(' ', 1);
                if (sp < 0) throw new TokenizerException(where + ": merge '" + s + "' is not two tokens");
                a = s.substring(0, sp);
                b = s.substring(sp + 1);
            }
            Integer ia = vocab.get(a), ib = vocab.get(b);
            String merged = a + (b.startsWith(m.path("continuing_subword_prefix").asText("\0"))
                    ? b.substring(m.path("continuing_subword_prefix").asText().length()) : b);
            Integer im = vocab.get(merged);
            if (ia == null || ib == null || im == null) {
                throw new TokenizerException(where + ": merge (" + a + ", " + b + ") uses tokens missing from the vocab");
            }
            merges.putIfAbsent(key(ia, ib), new long[] {rank, im});
            rank++;
        }
        String unk = m.hasNonNull("unk_token") ? m.get("unk_token").asText() : null;
        Integer unkId = unk == null ? null : vocab.get(unk);
        return new Bpe(vocab, merges, unkId, m.path("byte_fallback").asBoolean(false), m.path("fuse_unk").asBoolean(false),
                m.path("ignore_merges").asBoolean(false), m.hasNonNull("continuing_subword_prefix")
                ? m.get("continuing_subword_prefix").asText() : null,
                m.hasNonNull("end_of_word_suffix") ? m.get("end_of_word_suffix").asText() : null);
    }

    private static long key(int a, int b) {
        return ((long) a << 32) | (b & 0xFFFFFFFFL);
    }

    void tokenize(String word, List<Integer> out) {
        if (word.isEmpty()) return;
        if (ignoreMerges) {
            Integer whole = vocab.get(word);
            if (whole != null) {
                out.add(whole);
                return;
            }
        }
        int[] cached = word.length() <= 64 ? cache.get(word) : null;
        if (cached == null) {
            cached = merge(symbols(word));
            if (word.length() <= 64) {
                if (cache.size() > 100_000) cache.clear();
                cache.put(word, cached);
            }
        }
        for (int id : cached) out.add(id);
    }

    private List<Integer> symbols(String word) {
        List<Integer> ids = new ArrayList<>();
        boolean pendingUnk = false;
        int i = 0;
        while (i < word.length()) {
            int cp = word.codePointAt(i);
            int end = i + Character.charCount(cp);
            String s = word.substring(i, end);
            if (prefix != null && i > 0) s = prefix + s;
            if (suffix != null && end == word.length()) s = s + suffix;
            i = end;
            Integer id = vocab.get(s);
            if (id != null) {
                ids.add(id);
                pendingUnk = false;
                continue;
            }
            if (byteFallback) {
                List<Integer> bytes = new ArrayList<>();
                for (byte b : s.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
                    Integer bid = vocab.get(String.format("<0x%02X>", b & 0xFF));
                    if (bid == null) {
                        bytes = null;
                        break;
                    }
                    bytes.add(bid);
                }
                if (bytes != null) {
                    ids.addAll(bytes);
                    pendingUnk = false;
                    continue;
                }
            }
            if (unkId == null) {
                throw new TokenizerException("character '" + s + "' is not in the vocabulary and the tokenizer has no unk token");
            }
            if (!(fuseUnk && pendingUnk)) ids.add(unkId);
            pendingUnk = true;
        }
        return ids;
    }

    private int[] merge(List<Integer> symbols) {
        int n = symbols.size();
        int[] id = new int[n], prev = new int[n], next = new int[n];
        boolean[] gone = new boolean[n];
        for (int i = 0; i < n; i++) {
            id[i] = symbols.get(i);
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        // (rank, position, merged id), smallest rank first, then leftmost
        PriorityQueue<long[]> queue = new PriorityQueue<>((a, b) -> a[0] != b[0] ? Long.compare(a[0], b[0])
                : Long.compare(a[1], b[1]));
        for (int i = 0; i + 1 < n; i++) {
            long[] m = merges.get(key(id[i], id[i + 1]));
            if (m != null) queue.add(new long[] {m[0], i, m[1]});
        }
        while (!queue.isEmpty()) {
            long[] top = queue.poll();
            int pos = (int) top[1];
            if (gone[pos] || next[pos] < 0) continue;
            int right = next[pos];
            long[] m = merges.get(key(id[pos], id[right]));
            if (m == null || m[1] != top[2]) continue; // stale
            id[pos] = (int) top[2];
            gone[right] = true;
            next[pos] = next[right];
            if (next[right] >= 0) prev[next[right]] = pos;
            if (prev[pos] >= 0) {
                long[] mp = merges.get(key(id[prev[pos]], id[pos]));
                if (mp != null) queue.add(new long[] {mp[0], prev[pos], mp[1]});
            }
            if (next[pos] >= 0) {
                long[] mn = merges.get(key(id[pos], id[next[pos]]));
                if (mn != null) queue.add(new long[] {mn[0], pos, mn[1]});
            }
        }
        int count = 0;
        for (int i = 0; i >= 0 && i < n; i = next[i]) count++;
        int[] out = new int[count];
        int k = 0;
        for (int i = 0; i >= 0 && i < n; i = next[i]) out[k++] = id[i];
        return out;
    }
}
