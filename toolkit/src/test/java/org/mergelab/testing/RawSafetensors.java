package org.mergelab.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A safetensors file read whole and parsed here, independently of {@code org.mergelab.io}, so tests that check
 * MergeLab's reader and writer do not trust them: header JSON, then each tensor's dtype, shape and raw bytes.
 */
public final class RawSafetensors {
    public record Entry(String name, String dtype, long[] shape, ByteBuffer bytes) {
        public int elementSize() {
            return switch (dtype) {
                case "F32", "I32" -> 4;
                case "BF16", "F16" -> 2;
                case "F64", "I64" -> 8;
                default -> throw new IllegalArgumentException("dtype " + dtype);
            };
        }

        public int numel() { return bytes.remaining() / elementSize(); }

        /** Element {@code i} as float (F32, BF16, F16 only). */
        public float get(int i) {
            return switch (dtype) {
                case "F32" -> bytes.getFloat(bytes.position() + 4 * i);
                case "BF16" -> Float.intBitsToFloat((bytes.getShort(bytes.position() + 2 * i) & 0xFFFF) << 16);
                case "F16" -> org.mergelab.io.Half.fp16ToFloat(bytes.getShort(bytes.position() + 2 * i));
                default -> throw new IllegalArgumentException("dtype " + dtype);
            };
        }

        /** Element {@code i}'s raw bits (F32: 32 bits; BF16, F16: 16 bits). */
        public int bits(int i) {
            return switch (dtype) {
                case "F32" -> bytes.getInt(bytes.position() + 4 * i);
                case "BF16", "F16" -> bytes.getShort(bytes.position() + 2 * i) & 0xFFFF;
                default -> throw new IllegalArgumentException("dtype " + dtype);
            };
        }

        public String shapeString() { return Arrays.toString(shape); }
    }

    private final Map<String, Entry> tensors;
    private final Map<String, String> metadata;

    private RawSafetensors(Map<String, Entry> tensors, Map<String, String> metadata) {
        this.tensors = tensors;
        this.metadata = metadata;
    }

    public static RawSafetensors read(Path file) throws IOException {
        ByteBuffer all = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        long n = all.getLong(0);
        JsonNode header = new ObjectMapper().readTree(new String(all.array(), 8, (int) n, StandardCharsets.UTF_8));
        int dataStart = 8 + (int) n;
        Map<String, Entry> tensors = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("__metadata__")) {
                e.getValue().fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                continue;
            }
            JsonNode v = e.getValue();
            long[] shape = new long[v.get("shape").size()];
            for (int i = 0; i < shape.length; i++) shape[i] = v.get("shape").get(i).asLong();
            int begin = v.get("data_offsets").get(0).asInt(), end = v.get("data_offsets").get(1).asInt();
            ByteBuffer b = all.duplicate().order(ByteOrder.LITTLE_ENDIAN);
            b.limit(dataStart + end).position(dataStart + begin);
            tensors.put(e.getKey(), new Entry(e.getKey(), v.get("dtype").asText(), shape, b.slice().order(ByteOrder.LITTLE_ENDIAN)));
        }
        return new RawSafetensors(tensors, metadata);
    }

    public Map<String, Entry> tensors() { return tensors; }

    public Entry get(String name) {
        Entry e = tensors.get(name);
        if (e == null) throw new IllegalArgumentException("no tensor " + name);
        return e;
    }

    public Map<String, String> metadata() { return metadata; }

    /**
     * Distance in units in the last place between two values of the same floating format, given as raw bits of
     * {@code width} bits (16 for bf16, 32 for float32): the number of representable values between them.
     */
    public static long ulpDistance(int bitsA, int bitsB, int width) {
        return Math.abs(ordered(bitsA, width) - ordered(bitsB, width));
    }

    private static long ordered(int bits, int width) {
        long b = width == 32 ? bits & 0xFFFFFFFFL : bits & 0xFFFFL;
        long sign = 1L << (width - 1);
        return (b & sign) != 0 ? -(b & (sign - 1)) : b;
    }
}
