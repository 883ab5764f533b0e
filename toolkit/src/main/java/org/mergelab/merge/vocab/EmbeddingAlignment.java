package org.mergelab.merge.vocab;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.mergelab.io.DType;
import org.mergelab.io.Half;
import org.mergelab.recipe.ModelRef;
import org.mergelab.recipe.TokenizerSettings;
import org.mergelab.recipe.TokenizerSettings.EmbeddingSource;
import org.mergelab.recipe.TokenizerSettings.TokenSetting;

/**
 * Re-indexes one vocabulary tensor (an embedding or an LM head) of every input model to the merged vocabulary, so
 * the merge method sees matrices whose row {@code i} belongs to output token {@code i} in every model. Row
 * {@code i} of model {@code m} is, as in mergekit 0.1.5:
 * <ol>
 *   <li>m's own row for the token, if m has it and the token is not forced;</li>
 *   <li>otherwise the token's default row: its {@code tokenizer.tokens} source (the same token's row in a model, another
 *       token's row in a model, or zeros); else, for a token only one model has, that model's row; for a token
 *       no model has, zeros (with a warning); for one the base model has, the base's row; else the mean of the rows
 *       of the models that have it.</li>
 * </ol>
 * Rows past the vocabulary (up to {@code pad_to_multiple_of}) hold the mean of the model's first {@code V} rows.
 * Everything here but the data is decided when the merge is planned, so mistakes show before any tensor is read.
 */
public final class EmbeddingAlignment {
    /** Where a row comes from. {@code model} indexes the inputs; {@code row} that model's tensor. */
    private record Ref(int model, int row) {}

    /** A token's default row: zeros, one model's row, or the mean of several (summed in the working dtype). */
    private record DefaultRow(List<Ref> rows, boolean mean) {
        static final DefaultRow ZERO = new DefaultRow(List.of(), false);
    }

    private final int vocabAxis;
    private final long[] inShapeTemplate;
    private final int[] inRows;
    private final int vocab;
    private final int padded;
    private final int[][] own;
    private final DefaultRow[] defaults;
    private final boolean[] forced;

    private EmbeddingAlignment(int vocabAxis, long[] inShapeTemplate, int[] inRows, int vocab, int padded, int[][] own,
                               DefaultRow[] defaults, boolean[] forced) {
        this.vocabAxis = vocabAxis;
        this.inShapeTemplate = inShapeTemplate;
        this.inRows = inRows;
        this.vocab = vocab;
        this.padded = padded;
        this.own = own;
        this.defaults = defaults;
        this.forced = forced;
    }

    /** A mistake in the recipe's token settings, with the line it is on. */
    public static final class TokenSettingException extends RuntimeException {
        private final int line;

        TokenSettingException(int line, String message) {
            super(message);
            this.line = line;
        }

        public int line() { return line; }
    }

    /**
     * Plans the re-indexing of one tensor.
     *
     * @param models     the models that have this tensor, in the order the method sees them
     * @param shapes     their shapes (equal except along {@code vocabAxis})
     * @param base       the base model for this tensor (may be null or absent from {@code models})
     * @param warnings   receives what mergekit would log
     * @throws TokenSettingException for a token setting that cannot be applied to this tensor
     */
    public static EmbeddingAlignment plan(OutputVocabulary vocabulary, TokenizerSettings settings, List<ModelRef> models,
                                          List<long[]> shapes, int vocabAxis, ModelRef base, List<String> warnings) {
        int v = vocabulary.size();
        int n = models.size();
        int[] rows = new int[n];
        int[][] own = new int[n][];
        for (int k = 0; k < n; k++) {
            rows[k] = Math.toIntExact(shapes.get(k)[vocabAxis]);
            own[k] = vocabulary.permutation(models.get(k));
            for (int id = 0; id < v; id++) {
                if (own[k][id] >= rows[k]) {
                    throw new TokenSettingException(settings.line(), models.get(k) + " maps token "
                            + OutputVocabulary.quote(vocabulary.token(id)) + " to row " + own[k][id] + " but its tensor has"
                            + " only " + rows[k] + " rows along the vocabulary axis");
                }
            }
        }
        Map<String, TokenSetting> configs = new HashMap<>();
        settings.tokens().forEach((t, c) -> { if (c.source() != null) configs.put(t, c); });
        int baseIndex = base == null ? -1 : models.indexOf(base);

        DefaultRow[] defaults = new DefaultRow[v];
        boolean[] forced = new boolean[v];
        for (int id = 0; id < v; id++) {
            String token = vocabulary.token(id);
            TokenSetting cfg = configs.get(token);
            forced[id] = cfg != null && cfg.force();
            List<Ref> present = new ArrayList<>();
            for (int k = 0; k < n; k++) if (own[k][id] >= 0) present.add(new Ref(k, own[k][id]));
            if (!forced[id] && present.size() == n) continue;
            if (cfg != null) {
                defaults[id] = fromSetting(vocabulary, token, id, cfg, models, own, rows);
            } else if (present.size() == 1) {
                defaults[id] = new DefaultRow(present, false);
            } else if (present.isEmpty()) {
                warnings.add("token " + OutputVocabulary.quote(token) + " is in none of the models; its row is zeros");
                defaults[id] = DefaultRow.ZERO;
            } else if (baseIndex >= 0 && own[baseIndex][id] >= 0) {
                defaults[id] = new DefaultRow(List.of(new Ref(baseIndex, own[baseIndex][id])), false);
            } else {
                defaults[id] = new DefaultRow(present, true);
            }
        }
        int padded = vocabulary.paddedSize(settings.padToMultipleOf());
        return new EmbeddingAlignment(vocabAxis, shapes.get(0).clone(), rows, v, padded, own, defaults, forced);
    }

    private static DefaultRow fromSetting(OutputVocabulary vocabulary, String token, int id, TokenSetting cfg,
                                          List<ModelRef> models, int[][] own, int[] rows) {
        EmbeddingSource src = cfg.source();
        String what = "token " + OutputVocabulary.quote(token);
        if (src instanceof TokenizerSettings.Zero) return DefaultRow.ZERO;
        ModelRef m = src instanceof TokenizerSettings.ModelRow r ? r.model() : ((TokenizerSettings.ModelToken) src).model();
        int k = models.indexOf(m);
        if (k < 0) {
            throw new TokenSettingException(cfg.line(), what + " takes its row from " + m + ", which is not one of the"
                    + " models merged here (" + String.join(", ", models.stream().map(ModelRef::toString).toList()) + ")");
        }
        if (src instanceof TokenizerSettings.ModelToken mt) {
            int row;
            if (mt.tokenId() != null) {
                row = mt.tokenId();
            } else {
                Map<String, Integer> orig = vocabulary.originalVocab(m);
                Integer r = orig == null ? null : orig.get(mt.token());
                if (r == null) {
                    throw new TokenSettingException(cfg.line(), what + ": token " + OutputVocabulary.quote(mt.token())
                            + " is not in " + m + "'s vocabulary");
                }
                row = r;
            }
            if (row < 0 || row >= rows[k]) {
                throw new TokenSettingException(cfg.line(), what + ": token id " + row + " is out of range for " + m
                        + " (its tensor has " + rows[k] + " rows)");
            }
            return new DefaultRow(List.of(new Ref(k, row)), false);
        }
        if (own[k][id] < 0) {
            throw new TokenSettingException(cfg.line(), what + " takes its row from " + m + ", which does not have"
                    + " that token");
        }
        return new DefaultRow(List.of(new Ref(k, own[k][id])), false);
    }

    /** The output shape: the inputs' shape with {@code paddedSize} along the vocabulary axis. */
    public long[] outShape() {
        long[] s = inShapeTemplate.clone();
        s[vocabAxis] = padded;
        return s;
    }

    /** Rows in the output (the vocabulary size, padded). */
    public int paddedSize() { return padded; }

    /**
     * Re-indexes the inputs (float32 arrays already rounded to {@code work}, in the planned model order). Sums
     * and means of rows are rounded to {@code work} after every operation, as mergekit's arithmetic in that dtype.
     */
    public List<float[]> align(List<float[]> inputs, DType work) {
        int n = inputs.size();
        long outer = 1, inner = 1;
        for (int d = 0; d < vocabAxis; d++) outer *= inShapeTemplate[d];
        for (int d = vocabAxis + 1; d < inShapeTemplate.length; d++) inner *= inShapeTemplate[d];
        int o = Math.toIntExact(outer), w = Math.toIntExact(inner), rowLen = o * w;
        DType round = work == DType.F64 ? DType.F32 : work;

        float[][] defaultRows = new float[vocab][];
        for (int id = 0; id < vocab; id++) {
            DefaultRow d = defaults[id];
            if (d == null) continue;
            float[] row = new float[rowLen];
            if (d.mean()) {
                for (Ref r : d.rows()) {
                    addRow(inputs.get(r.model()), inRows[r.model()], r.row(), row, o, w);
                    Half.roundInPlace(row, rowLen, round);
                }
                float count = d.rows().size();
                for (int i = 0; i < rowLen; i++) row[i] /= count;
                Half.roundInPlace(row, rowLen, round);
            } else if (!d.rows().isEmpty()) {
                Ref r = d.rows().get(0);
                addRow(inputs.get(r.model()), inRows[r.model()], r.row(), row, o, w);
            }
            defaultRows[id] = row;
        }

        List<float[]> out = new ArrayList<>(n);
        for (int k = 0; k < n; k++) {
            float[] src = inputs.get(k);
            float[] dst = new float[padded * rowLen];
            for (int id = 0; id < vocab; id++) {
                int r = own[k][id];
                if (r >= 0 && !forced[id]) {
                    for (int b = 0; b < o; b++) {
                        System.arraycopy(src, (b * inRows[k] + r) * w, dst, (b * padded + id) * w, w);
                    }
                } else if (defaultRows[id] != null) {
                    float[] row = defaultRows[id];
                    for (int b = 0; b < o; b++) System.arraycopy(row, b * w, dst, (b * padded + id) * w, w);
                }
            }
            if (padded > vocab) padWithMean(dst, o, w, round);
            out.add(dst);
        }
        return out;
    }

    /** Adds row {@code r} of a {@code [outer, rows, inner]} tensor into {@code row} ({@code [outer, inner]}). */
    private static void addRow(float[] src, int rows, int r, float[] row, int outer, int inner) {
        for (int b = 0; b < outer; b++) {
            int from = (b * rows + r) * inner, to = b * inner;
            for (int i = 0; i < inner; i++) row[to + i] += src[from + i];
        }
    }

    /** Rows {@code vocab..padded-1} get the mean of rows {@code 0..vocab-1} (Hewitt's initialisation of new rows). */
    private void padWithMean(float[] dst, int outer, int inner, DType round) {
        float[] mean = new float[inner];
        for (int b = 0; b < outer; b++) {
            for (int i = 0; i < inner; i++) {
                double s = 0;
                for (int id = 0; id < vocab; id++) s += dst[(b * padded + id) * inner + i];
                mean[i] = (float) s / vocab;
            }
            Half.roundInPlace(mean, inner, round);
            for (int id = vocab; id < padded; id++) System.arraycopy(mean, 0, dst, (b * padded + id) * inner, inner);
        }
    }
}
