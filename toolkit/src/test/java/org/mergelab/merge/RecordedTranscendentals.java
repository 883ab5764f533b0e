package org.mergelab.merge;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import org.mergelab.io.Json;

/**
 * The float32 acos, sin and cos values torch returned during one of mergekit's merges (a golden's
 * {@code transcendentals.json}, made by make_method_goldens.py), replayed for the same arguments. An argument torch
 * never received gets the default value and is noted: for a merge that takes these functions only in float32, any
 * such argument means MergeLab computed an angle or cosine that differs from mergekit's.
 */
final class RecordedTranscendentals implements Transcendentals {
    private final Map<Integer, Integer> acos, sin, cos;
    private final AtomicLong replayed = new AtomicLong();
    private final ConcurrentLinkedQueue<String> unknown = new ConcurrentLinkedQueue<>();

    private RecordedTranscendentals(JsonNode values) {
        acos = table(values.get("acos"));
        sin = table(values.get("sin"));
        cos = table(values.get("cos"));
    }

    static RecordedTranscendentals read(Path file) throws IOException {
        return new RecordedTranscendentals(Json.read(file));
    }

    private static Map<Integer, Integer> table(JsonNode pairs) {
        Map<Integer, Integer> m = new HashMap<>();
        for (JsonNode p : pairs) m.put((int) p.get(0).asLong(), (int) p.get(1).asLong());
        return m;
    }

    private float replay(String function, Map<Integer, Integer> table, float x, float otherwise) {
        Integer value = table.get(Float.floatToRawIntBits(x));
        if (value == null) {
            unknown.add(function + "(" + x + ")");
            return otherwise;
        }
        replayed.incrementAndGet();
        return Float.intBitsToFloat(value);
    }

    @Override
    public float acos(float x) { return replay("acos", acos, x, ROUNDED_FROM_DOUBLE.acos(x)); }

    @Override
    public float sin(float x) { return replay("sin", sin, x, ROUNDED_FROM_DOUBLE.sin(x)); }

    @Override
    public float cos(float x) { return replay("cos", cos, x, ROUNDED_FROM_DOUBLE.cos(x)); }

    /** How many calls got torch's value. */
    long replayed() { return replayed.get(); }

    /** The calls whose argument torch never received. */
    java.util.List<String> unknownArguments() { return java.util.List.copyOf(unknown); }

    /** How many of the recorded values differ from {@link Transcendentals#ROUNDED_FROM_DOUBLE}'s. */
    int differingFromDefault() {
        int d = 0;
        for (var e : acos.entrySet()) d += differs(e, ROUNDED_FROM_DOUBLE.acos(Float.intBitsToFloat(e.getKey())));
        for (var e : sin.entrySet()) d += differs(e, ROUNDED_FROM_DOUBLE.sin(Float.intBitsToFloat(e.getKey())));
        for (var e : cos.entrySet()) d += differs(e, ROUNDED_FROM_DOUBLE.cos(Float.intBitsToFloat(e.getKey())));
        return d;
    }

    private static int differs(Map.Entry<Integer, Integer> e, float ours) {
        return Float.floatToRawIntBits(ours) == e.getValue() ? 0 : 1;
    }
}
