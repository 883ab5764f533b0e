package org.mergelab.merge.vocab;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;
import java.util.function.ToIntFunction;
import org.mergelab.io.CheckpointException;
import org.mergelab.io.TokenizerFolder;
import org.mergelab.io.TokenizerJson;
import org.mergelab.io.TokenizerJson.AddedToken;
import org.mergelab.recipe.ModelRef;
import org.mergelab.recipe.TokenizerSettings;

/**
 * The merged model's vocabulary and, for every input model, where each output token sits in that model's
 * vocabulary. Built as mergekit 0.1.5 builds it:
 * <ul>
 *   <li>the base model's tokenizer (the first model's if there is no base) is "stripped" of tokens whose id is
 *       its config's vocab_size or more (they have no embedding row);</li>
 *   <li>{@code base}: that stripped tokenizer; a model: that model's tokenizer as it is;
 *       {@code union}: the stripped base tokenizer plus, model by model (base first, then recipe order), every
 *       token below that model's vocab_size it lacks, added as a plain added token, then every added token of
 *       every model (the first definition of a token wins);</li>
 *   <li>tokens named under {@code tokenizer.tokens} are added if missing;</li>
 *   <li>a model's permutation maps each output id to the id of the same token in that model, or -1.</li>
 * </ul>
 * Where mergekit takes tokens from a model's vocabulary in Rust hash-map order (so a union's new tokens are
 * numbered differently from run to run), this class takes them in id order.
 */
public final class OutputVocabulary {
    private final TokenizerJson tokenizer;
    private final TokenizerFolder source;
    private final Map<ModelRef, int[]> permutations;
    private final Map<ModelRef, Map<String, Integer>> originalVocabs;
    private final Map<String, Integer> vocab;
    private final List<String> tokens;

    private OutputVocabulary(TokenizerJson tokenizer, TokenizerFolder source, Map<ModelRef, int[]> permutations,
                             Map<ModelRef, Map<String, Integer>> originalVocabs) {
        this.tokenizer = tokenizer;
        this.source = source;
        this.permutations = permutations;
        this.originalVocabs = originalVocabs;
        this.vocab = Collections.unmodifiableMap(tokenizer.vocab());
        String[] byId = new String[vocab.size()];
        vocab.forEach((t, id) -> {
            if (id < 0 || id >= byId.length || byId[id] != null) {
                throw new CheckpointException(tokenizer.where() + ": the merged vocabulary's ids are not 0.."
                        + (byId.length - 1) + " each used once (token " + t + " has id " + id + ")");
            }
            byId[id] = t;
        });
        this.tokens = List.of(byId);
    }

    /**
     * @param models        every model the recipe references, in recipe order
     * @param tokenizerOf   reads a model's tokenizer (throws {@link CheckpointException} when it has none)
     * @param vocabSizeOf   a model's config vocab_size, or -1 when its config has none
     * @param warnings      receives what mergekit logs as warnings
     */
    public static OutputVocabulary build(TokenizerSettings settings, ModelRef baseModel, List<ModelRef> models,
                                         Function<ModelRef, TokenizerFolder> tokenizerOf,
                                         ToIntFunction<ModelRef> vocabSizeOf, List<String> warnings) {
        ModelRef base = baseModel != null ? baseModel : models.get(0);
        TokenizerFolder baseFolder = tokenizerOf.apply(base);
        int baseSize = vocabSizeOf.applyAsInt(base);
        TokenizerJson baseTok = baseFolder.tokenizer().withoutIdsFrom(baseSize >= 0 ? baseSize
                : baseFolder.tokenizer().size());

        Map<ModelRef, TokenizerJson> toks = new LinkedHashMap<>();
        toks.put(base, baseTok);
        for (ModelRef m : models) {
            if (m.equals(base)) continue;
            try {
                toks.put(m, tokenizerOf.apply(m).tokenizer());
            } catch (CheckpointException e) {
                warnings.add("cannot read the tokenizer of " + m + " (" + e.getMessage() + "); assuming it is the same"
                        + " as " + base + "'s");
            }
        }

        TokenizerJson out;
        TokenizerFolder source = baseFolder;
        TokenizerSettings.Source s = settings.source();
        if (s instanceof TokenizerSettings.FromModel fm) {
            source = tokenizerOf.apply(fm.model());
            out = source.tokenizer().copy();
        } else if (s instanceof TokenizerSettings.Base) {
            out = baseTok.copy();
        } else {
            out = union(baseTok, toks, vocabSizeOf, warnings);
        }
        for (String t : settings.tokens().keySet()) {
            if (!out.vocab().containsKey(t)) out.addToken(AddedToken.plain(t));
        }

        Map<String, Integer> outVocab = out.vocab();
        Map<ModelRef, int[]> perms = new LinkedHashMap<>();
        for (ModelRef m : models) {
            Map<String, Integer> mv = (toks.containsKey(m) ? toks.get(m) : baseTok).vocab();
            int size = vocabSizeOf.applyAsInt(m);
            if (size < 0) size = mv.size();
            int[] p = new int[outVocab.size()];
            for (Map.Entry<String, Integer> e : outVocab.entrySet()) {
                Integer orig = mv.get(e.getKey());
                if (orig != null && orig >= size) {
                    // mergekit leaves such a token out of the permutation and then fails on it; it has no row here.
                    warnings.add(m + " token " + quote(e.getKey()) + " has id " + orig + ", beyond its vocab_size "
                            + size + "; treated as absent from " + m);
                    orig = null;
                }
                if (e.getValue() < p.length) p[e.getValue()] = orig == null ? -1 : orig;
            }
            perms.put(m, p);
        }
        Map<ModelRef, Map<String, Integer>> originals = new LinkedHashMap<>();
        toks.forEach((m, t) -> originals.put(m, t.vocab()));
        return new OutputVocabulary(out, source, perms, originals);
    }

    private static TokenizerJson union(TokenizerJson baseTok, Map<ModelRef, TokenizerJson> toks,
                                       ToIntFunction<ModelRef> vocabSizeOf, List<String> warnings) {
        Map<String, Boolean> fromVocabularies = new LinkedHashMap<>();
        Map<String, AddedToken> added = new LinkedHashMap<>();
        List<String> warned = new ArrayList<>();
        for (Map.Entry<ModelRef, TokenizerJson> e : toks.entrySet()) {
            TokenizerJson t = e.getValue();
            int size = vocabSizeOf.applyAsInt(e.getKey());
            if (size < 0) size = t.modelVocab().size();
            Map<Integer, String> byId = new java.util.TreeMap<>();
            t.vocab().forEach((tok, id) -> byId.put(id, tok));
            for (Map.Entry<Integer, String> v : byId.entrySet()) {
                if (v.getKey() >= size) {
                    warnings.add("token " + quote(v.getValue()) + " is in " + e.getKey() + "'s tokenizer but its id "
                            + v.getKey() + " is beyond its vocab_size " + size + "; left out of the union");
                    continue;
                }
                fromVocabularies.putIfAbsent(v.getValue(), true);
            }
            for (AddedToken a : t.addedTokens()) {
                if (a.id() >= size) continue;
                AddedToken first = added.get(a.content());
                if (first == null) {
                    added.put(a.content(), a);
                } else if (!first.sameAs(a) && !warned.contains(a.content())) {
                    warnings.add("token " + quote(a.content()) + " is added with different settings by different"
                            + " models; the first one's are used");
                    warned.add(a.content());
                }
            }
        }
        TokenizerJson res = baseTok.copy();
        Map<String, Integer> baseVocab = baseTok.vocab();
        for (String tok : fromVocabularies.keySet()) {
            if (added.containsKey(tok) || baseVocab.containsKey(tok)) continue;
            res.addToken(AddedToken.plain(tok));
        }
        for (AddedToken a : added.values()) res.addToken(a);
        return res;
    }

    static String quote(String token) {
        return "'" + token.replace("\n", "\\n") + "'";
    }

    /** The merged tokenizer. */
    public TokenizerJson tokenizer() { return tokenizer; }

    /** The tokenizer folder whose tokenizer_config.json and chat template the output takes. */
    public TokenizerFolder source() { return source; }

    /** Number of tokens (before padding). */
    public int size() { return tokens.size(); }

    /** The size of the vocabulary axis: {@link #size()} rounded up to a multiple of {@code padToMultipleOf}. */
    public int paddedSize(Integer padToMultipleOf) {
        int v = size();
        if (padToMultipleOf == null || padToMultipleOf <= 0 || v % padToMultipleOf == 0) return v;
        return (v / padToMultipleOf + 1) * padToMultipleOf;
    }

    /** The token with output id {@code id}. */
    public String token(int id) { return tokens.get(id); }

    public Map<String, Integer> vocab() { return vocab; }

    /** For each output id, the id of the same token in {@code model}, or -1 when the model lacks it. */
    public int[] permutation(ModelRef model) {
        return Objects.requireNonNull(permutations.get(model), () -> "no permutation for " + model).clone();
    }

    /** A model's own vocabulary as read (the base's stripped), or null when its tokenizer could not be read. */
    public Map<String, Integer> originalVocab(ModelRef model) {
        return originalVocabs.get(model);
    }
}
