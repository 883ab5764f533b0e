package org.mergelab.io;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes the Hugging Face tokenizer files for a SentencePiece BPE model with byte fallback (the Llama 2 family):
 * {@code tokenizer.model} (copied), {@code tokenizer_config.json}, {@code special_tokens_map.json} and a
 * {@code tokenizer.json} equal to the one transformers' converter derives from the same model: vocabulary in id
 * order; merges for every piece that splits into two known pieces, ordered by the merged piece's id, then by the
 * lengths of the two halves; Metaspace pre-tokenisation; byte-fallback decoding; BOS prepended. Unlike
 * transformers' conversion it also reproduces SentencePiece's {@code remove_extra_whitespaces}, so the
 * {@code tokenizers} library encodes every text exactly as SentencePiece does.
 */
public final class HfTokenizerFiles {
    private HfTokenizerFiles() {}

    public static void write(Path sentencePieceFile, SentencePieceModel sp, Path outDir, int modelMaxLength)
            throws IOException {
        if (!sp.isBpe()) {
            throw new CheckpointException(sentencePieceFile + ": only SentencePiece BPE models are converted "
                    + "(this one is not BPE)");
        }
        // Copied as bytes, not with Files.copy, so a read-only source does not make a read-only output.
        Files.write(outDir.resolve("tokenizer.model"), Files.readAllBytes(sentencePieceFile));
        String bos = sp.piece(sp.bosId()), eos = sp.piece(sp.eosId()), unk = sp.piece(sp.unkId());

        ObjectNode special = Json.object();
        special.put("bos_token", bos);
        special.put("eos_token", eos);
        special.put("unk_token", unk);
        Json.write(outDir.resolve("special_tokens_map.json"), special);

        ObjectNode cfg = Json.object();
        cfg.put("add_bos_token", true);
        cfg.put("add_eos_token", false);
        ObjectNode decoder = cfg.putObject("added_tokens_decoder");
        for (int id : addedTokenIds(sp)) {
            ObjectNode t = decoder.putObject(Integer.toString(id));
            addedTokenFields(t, sp, id);
        }
        cfg.put("bos_token", bos);
        cfg.put("clean_up_tokenization_spaces", false);
        cfg.put("eos_token", eos);
        cfg.put("legacy", false);
        cfg.put("model_max_length", modelMaxLength);
        cfg.putNull("pad_token");
        cfg.put("padding_side", "left");
        cfg.putObject("sp_model_kwargs");
        cfg.put("tokenizer_class", "LlamaTokenizer");
        cfg.put("unk_token", unk);
        cfg.put("use_default_system_prompt", false);
        Json.write(outDir.resolve("tokenizer_config.json"), cfg);

        Json.write(outDir.resolve("tokenizer.json"), tokenizerJson(sp));
    }

    private static List<Integer> addedTokenIds(SentencePieceModel sp) {
        List<Integer> ids = new ArrayList<>();
        for (int i = 0; i < sp.size(); i++) {
            SentencePieceModel.PieceType t = sp.pieces().get(i).type();
            if (t == SentencePieceModel.PieceType.CONTROL || t == SentencePieceModel.PieceType.UNKNOWN
                    || t == SentencePieceModel.PieceType.USER_DEFINED) {
                ids.add(i);
            }
        }
        return ids;
    }

    private static void addedTokenFields(ObjectNode t, SentencePieceModel sp, int id) {
        t.put("content", sp.piece(id));
        t.put("lstrip", false);
        t.put("normalized", false);
        t.put("rstrip", false);
        t.put("single_word", false);
        t.put("special", sp.pieces().get(id).type() != SentencePieceModel.PieceType.USER_DEFINED);
    }

    static ObjectNode tokenizerJson(SentencePieceModel sp) {
        ObjectNode root = Json.object();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int id : addedTokenIds(sp)) {
            ObjectNode t = added.addObject();
            t.put("id", id);
            t.put("content", sp.piece(id));
            t.put("single_word", false);
            t.put("lstrip", false);
            t.put("rstrip", false);
            t.put("normalized", false);
            t.put("special", sp.pieces().get(id).type() != SentencePieceModel.PieceType.USER_DEFINED);
        }
        String prepend = sp.addDummyPrefix() ? "first" : "never";
        if (sp.removeExtraWhitespaces()) {
            // SentencePiece drops leading and trailing spaces and collapses runs of them before encoding; without
            // this normalizer the tokenizers library would emit extra "▁" pieces (transformers' own conversion
            // has that flaw). Once the normalizer may remove the first character, Metaspace's "first" no longer
            // adds the dummy prefix, so "always" takes its place.
            ObjectNode norm = root.putObject("normalizer");
            norm.put("type", "Sequence");
            ArrayNode steps = norm.putArray("normalizers");
            replace(steps, " {2,}", " ");
            replace(steps, "\\A ", "");
            replace(steps, " \\z", "");
            if (sp.addDummyPrefix()) prepend = "always";
        } else {
            root.putNull("normalizer");
        }
        ObjectNode pre = root.putObject("pre_tokenizer");
        pre.put("type", "Metaspace");
        pre.put("replacement", "\u2581");
        pre.put("prepend_scheme", prepend);
        pre.put("split", false);

        String bos = sp.piece(sp.bosId());
        ObjectNode post = root.putObject("post_processor");
        post.put("type", "TemplateProcessing");
        ArrayNode single = post.putArray("single");
        special(single, bos, 0);
        sequence(single, "A", 0);
        ArrayNode pair = post.putArray("pair");
        special(pair, bos, 0);
        sequence(pair, "A", 0);
        special(pair, bos, 1);
        sequence(pair, "B", 1);
        ObjectNode specials = post.putObject("special_tokens");
        ObjectNode b = specials.putObject(bos);
        b.put("id", bos);
        b.putArray("ids").add(sp.bosId());
        b.putArray("tokens").add(bos);

        ObjectNode dec = root.putObject("decoder");
        dec.put("type", "Sequence");
        ArrayNode decs = dec.putArray("decoders");
        ObjectNode replace = decs.addObject();
        replace.put("type", "Replace");
        replace.putObject("pattern").put("String", "\u2581");
        replace.put("content", " ");
        decs.addObject().put("type", "ByteFallback");
        decs.addObject().put("type", "Fuse");
        ObjectNode strip = decs.addObject();
        strip.put("type", "Strip");
        strip.put("content", " ");
        strip.put("start", 1);
        strip.put("stop", 0);

        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.put("unk_token", sp.piece(sp.unkId()));
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", true);
        model.put("byte_fallback", sp.byteFallback());
        model.put("ignore_merges", false);
        ObjectNode vocab = model.putObject("vocab");
        for (int i = 0; i < sp.size(); i++) vocab.put(sp.piece(i), i);
        ArrayNode merges = model.putArray("merges");
        for (String[] m : merges(sp)) merges.addArray().add(m[0]).add(m[1]);
        return root;
    }

    /**
     * BPE merges implied by a SentencePiece vocabulary: every split of a piece into two pieces that are both in
     * the vocabulary, ranked by the id of the piece they form (SentencePiece BPE ids follow merge order).
     */
    static List<String[]> merges(SentencePieceModel sp) {
        Map<String, Integer> id = new HashMap<>();
        for (int i = 0; i < sp.size(); i++) id.put(sp.piece(i), i);
        record Merge(String left, String right, int rank) {}
        List<Merge> all = new ArrayList<>();
        for (int i = 0; i < sp.size(); i++) {
            String piece = sp.piece(i);
            int[] cps = piece.codePoints().toArray();
            List<Merge> local = new ArrayList<>();
            for (int k = 1; k < cps.length; k++) {
                String l = new String(cps, 0, k), r = new String(cps, k, cps.length - k);
                if (id.containsKey(l) && id.containsKey(r)) local.add(new Merge(l, r, id.get(piece)));
            }
            local.sort(Comparator.comparingInt((Merge m) -> id.get(m.left())).thenComparingInt(m -> id.get(m.right())));
            all.addAll(local);
        }
        all.sort(Comparator.comparingInt(Merge::rank)
                .thenComparingInt(m -> m.left().codePointCount(0, m.left().length()))
                .thenComparingInt(m -> m.right().codePointCount(0, m.right().length())));
        List<String[]> out = new ArrayList<>(all.size());
        for (Merge m : all) out.add(new String[] {m.left(), m.right()});
        return out;
    }

    private static void replace(ArrayNode steps, String regex, String content) {
        ObjectNode r = steps.addObject();
        r.put("type", "Replace");
        r.putObject("pattern").put("Regex", regex);
        r.put("content", content);
    }

    private static void special(ArrayNode seq, String token, int typeId) {
        ObjectNode s = seq.addObject().putObject("SpecialToken");
        s.put("id", token);
        s.put("type_id", typeId);
    }

    private static void sequence(ArrayNode seq, String id, int typeId) {
        ObjectNode s = seq.addObject().putObject("Sequence");
        s.put("id", id);
        s.put("type_id", typeId);
    }
}
