package org.mergelab.model.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.PriorityQueue;
import org.mergelab.io.CheckpointException;
import org.mergelab.io.SentencePieceModel;
import org.mergelab.io.SentencePieceModel.PieceType;

/**
 * SentencePiece BPE from a {@code tokenizer.model}, encoding as sentencepiece's own library does: the normalizer's
 * whitespace handling (remove_extra_whitespaces counts only U+0020; a dummy "▁" prefix; spaces become "▁"), then,
 * from single characters, repeatedly the adjacent pair whose union is a piece of highest score (leftmost on ties);
 * characters without a piece fall back to their UTF-8 bytes ({@code <0xE4>}) or to unk. Models whose normalizer is
 * not "identity" (Llama 2's and llama2.c's are) get Java's NFKC, an approximation of sentencepiece's nmt_nfkc rules.
 */
public final class SentencePieceTokenizer implements Tokenizer {
    private final SentencePieceModel sp;
    private final Path file;
    private final Map<String, Integer> mergeable = new HashMap<>();
    private final Map<String, Integer> all = new HashMap<>();
    private final int[] byteIds = new int[256];
    private final boolean addBos, addEos;
    private final TokenizerConfig config;

    private SentencePieceTokenizer(SentencePieceModel sp, Path file, TokenizerConfig config) {
        this.sp = sp;
        this.file = file;
        this.config = config;
        java.util.Arrays.fill(byteIds, -1);
        for (int i = 0; i < sp.size(); i++) {
            SentencePieceModel.Piece p = sp.pieces().get(i);
            all.putIfAbsent(p.text(), i);
            if (p.type() == PieceType.NORMAL || p.type() == PieceType.USER_DEFINED || p.type() == PieceType.UNUSED) {
                mergeable.putIfAbsent(p.text(), i);
            }
            if (p.type() == PieceType.BYTE && p.text().length() == 6 && p.text().startsWith("<0x")) {
                byteIds[Integer.parseInt(p.text().substring(3, 5), 16)] = i;
            }
        }
        this.addBos = config == null || config.addBosToken() == null || config.addBosToken();
        this.addEos = config != null && config.addEosToken() != null && config.addEosToken();
    }

    public static SentencePieceTokenizer load(Path file) {
        return load(file, TokenizerConfig.read(file.toAbsolutePath().getParent()));
    }

    static SentencePieceTokenizer load(Path file, TokenizerConfig config) {
        SentencePieceModel sp;
        try {
            sp = SentencePieceModel.read(file);
        } catch (CheckpointException e) {
            throw new TokenizerException(e.getMessage(), e);
        }
        if (!sp.isBpe()) {
            throw new TokenizerException(file + ": only SentencePiece BPE models are supported (this one is not BPE)");
        }
        return new SentencePieceTokenizer(sp, file, config);
    }

    @Override
    public int[] encode(String text, boolean addSpecialTokens) {
        List<Integer> ids = new ArrayList<>();
        if (addSpecialTokens && addBos && sp.bosId() >= 0) ids.add(sp.bosId());
        encodeInto(normalize(text), ids);
        if (addSpecialTokens && addEos && sp.eosId() >= 0) ids.add(sp.eosId());
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    /** sentencepiece's normalizer with the identity rule set: whitespace handling and the "▁" escape. */
    String normalize(String text) {
        String s = text;
        if (!sp.normalizerName().isEmpty() && !sp.normalizerName().equals("identity")) {
            s = java.text.Normalizer.normalize(s, java.text.Normalizer.Form.NFKC);
        }
        if (sp.removeExtraWhitespaces()) {
            int b = 0, e = s.length();
            while (b < e && s.charAt(b) == ' ') b++;
            while (e > b && s.charAt(e - 1) == ' ') e--;
            StringBuilder sb = new StringBuilder(e - b);
            for (int i = b; i < e; i++) {
                char ch = s.charAt(i);
                if (ch == ' ' && sb.length() > 0 && sb.charAt(sb.length() - 1) == ' ') continue;
                sb.append(ch);
            }
            s = sb.toString();
        }
        if (s.isEmpty()) return s;
        if (sp.addDummyPrefix()) s = " " + s;
        return s.replace(' ', '\u2581');
    }

    private void encodeInto(String normalized, List<Integer> out) {
        if (normalized.isEmpty()) return;
        int[] cps = normalized.codePoints().toArray();
        int n = cps.length;
        String[] piece = new String[n];
        int[] prev = new int[n], next = new int[n];
        for (int i = 0; i < n; i++) {
            piece[i] = new String(cps, i, 1);
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        record Pair(int left, int right, float score, String merged) {}
        PriorityQueue<Pair> agenda = new PriorityQueue<>((a, b) -> a.score != b.score
                ? Float.compare(b.score, a.score) : Integer.compare(a.left, b.left));
        java.util.function.BiConsumer<Integer, Integer> consider = (l, r) -> {
            if (l < 0 || r < 0) return;
            String m = piece[l] + piece[r];
            Integer id = mergeable.get(m);
            if (id != null) agenda.add(new Pair(l, r, sp.pieces().get(id).score(), m));
        };
        for (int i = 0; i + 1 < n; i++) consider.accept(i, i + 1);
        while (!agenda.isEmpty()) {
            Pair top = agenda.poll();
            if (piece[top.left] == null || piece[top.right] == null || next[top.left] != top.right
                    || !(piece[top.left] + piece[top.right]).equals(top.merged)) {
                continue; // a stale entry: one side has merged since
            }
            piece[top.left] = top.merged;
            piece[top.right] = null;
            next[top.left] = next[top.right];
            if (next[top.right] >= 0) prev[next[top.right]] = top.left;
            consider.accept(prev[top.left], top.left);
            consider.accept(top.left, next[top.left]);
        }
        for (int i = 0; i >= 0; i = next[i]) {
            Integer id = all.get(piece[i]);
            if (id != null && sp.pieces().get(id).type() != PieceType.UNUSED) {
                out.add(id);
            } else if (sp.byteFallback()) {
                for (byte b : piece[i].getBytes(StandardCharsets.UTF_8)) out.add(byteIds[b & 0xFF]);
            } else if (out.isEmpty() || out.get(out.size() - 1) != sp.unkId()) {
                out.add(sp.unkId());
            }
        }
    }

    @Override
    public String decode(int[] ids, boolean skipSpecialTokens) {
        StringBuilder sb = new StringBuilder();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        boolean first = true;
        for (int id : ids) {
            if (id < 0 || id >= sp.size()) continue; // an id past the vocabulary (a padded embedding row): no text
            SentencePieceModel.Piece p = sp.pieces().get(id);
            if (p.type() == PieceType.BYTE) {
                bytes.write(Integer.parseInt(p.text().substring(3, 5), 16));
                first = false;
                continue;
            }
            flush(bytes, sb);
            if (p.type() == PieceType.CONTROL) {
                continue;
            }
            String text = p.type() == PieceType.UNKNOWN ? " \u2047 " : p.text().replace('\u2581', ' ');
            if (first && (sp.addDummyPrefix() || sp.removeExtraWhitespaces())) {
                // sentencepiece drops one leading space per piece until a piece leaves text behind
                if (text.startsWith(" ")) text = text.substring(1);
                first = text.isEmpty();
            } else {
                first = false;
            }
            sb.append(text);
        }
        flush(bytes, sb);
        return sb.toString();
    }

    private static void flush(ByteArrayOutputStream bytes, StringBuilder sb) {
        if (bytes.size() == 0) return;
        sb.append(new String(bytes.toByteArray(), StandardCharsets.UTF_8));
        bytes.reset();
    }

    @Override
    public int size() { return sp.size(); }

    @Override
    public String token(int id) { return id >= 0 && id < sp.size() ? sp.piece(id) : null; }

    @Override
    public OptionalInt id(String token) {
        Integer id = all.get(token);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    @Override
    public OptionalInt bosId() { return sp.bosId() >= 0 ? OptionalInt.of(sp.bosId()) : OptionalInt.empty(); }

    @Override
    public OptionalInt eosId() { return sp.eosId() >= 0 ? OptionalInt.of(sp.eosId()) : OptionalInt.empty(); }

    @Override
    public List<Integer> stopIds() {
        List<Integer> ids = new ArrayList<>();
        if (sp.eosId() >= 0) ids.add(sp.eosId());
        if (config != null) config.generationEosIds().forEach(i -> { if (!ids.contains(i)) ids.add(i); });
        return ids;
    }

    @Override
    public Optional<ChatTemplate> chatTemplate() {
        return config == null || config.chatTemplate() == null ? Optional.empty()
                : Optional.of(ChatTemplate.of(config.chatTemplate(), token(sp.bosId()), token(sp.eosId()),
                        file.toString()));
    }

    @Override
    public String source() { return file.toString(); }

    @Override
    public String toString() {
        return "SentencePiece BPE tokenizer (" + sp.size() + " pieces) from " + file;
    }
}
