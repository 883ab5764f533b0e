package org.mergelab.io;

import java.util.Locale;

/** Element types of safetensors files, with the names used by safetensors and by torch. */
public enum DType {
    F64("F64", "float64", 8, true),
    F32("F32", "float32", 4, true),
    F16("F16", "float16", 2, true),
    BF16("BF16", "bfloat16", 2, true),
    F8_E4M3("F8_E4M3", "float8_e4m3fn", 1, true),
    F8_E5M2("F8_E5M2", "float8_e5m2", 1, true),
    I64("I64", "int64", 8, false),
    I32("I32", "int32", 4, false),
    I16("I16", "int16", 2, false),
    I8("I8", "int8", 1, false),
    U8("U8", "uint8", 1, false),
    BOOL("BOOL", "bool", 1, false);

    private final String safetensorsName;
    private final String torchName;
    private final int size;
    private final boolean floating;

    DType(String safetensorsName, String torchName, int size, boolean floating) {
        this.safetensorsName = safetensorsName;
        this.torchName = torchName;
        this.size = size;
        this.floating = floating;
    }

    public String safetensorsName() { return safetensorsName; }

    /** The name config.json uses for {@code torch_dtype}. */
    public String torchName() { return torchName; }

    public int size() { return size; }

    public boolean isFloating() { return floating; }

    /** Parses a safetensors dtype string ("BF16"). */
    public static DType fromSafetensors(String name) {
        for (DType d : values()) {
            if (d.safetensorsName.equals(name)) return d;
        }
        throw new IllegalArgumentException("unknown safetensors dtype '" + name + "'");
    }

    /**
     * Parses a dtype as recipes and configs write it: "bfloat16", "torch.float16", "bf16", "fp32", "F32".
     */
    public static DType parse(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT);
        if (n.startsWith("torch.")) n = n.substring("torch.".length());
        switch (n) {
            case "bfloat16": case "bf16": return BF16;
            case "float16": case "fp16": case "half": case "f16": return F16;
            case "float32": case "fp32": case "float": case "f32": return F32;
            case "float64": case "fp64": case "double": case "f64": return F64;
            case "int64": case "long": case "i64": return I64;
            case "int32": case "int": case "i32": return I32;
            default:
                for (DType d : values()) {
                    if (d.safetensorsName.equalsIgnoreCase(n) || d.torchName.equals(n)) return d;
                }
                throw new IllegalArgumentException("unknown dtype '" + name
                        + "' (expected bfloat16, float16, float32 or float64)");
        }
    }
}
