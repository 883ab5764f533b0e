package org.mergelab.model.tokenizer;

/**
 * GPT-2's reversible byte-to-character map, used by byte-level BPE (Llama 3, Qwen2, SmolLM): printable Latin-1
 * bytes stand for themselves, the other 68 bytes for the characters from U+0100 on, so every byte string is a string
 * of visible characters ("Ġ" is the space).
 */
final class ByteLevel {
    static final char[] BYTE_TO_CHAR = new char[256];
    static final int[] CHAR_TO_BYTE = new int[512];

    static {
        java.util.Arrays.fill(CHAR_TO_BYTE, -1);
        int extra = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            char c = printable ? (char) b : (char) (256 + extra++);
            BYTE_TO_CHAR[b] = c;
            CHAR_TO_BYTE[c] = b;
        }
    }

    private ByteLevel() {}

    /** The UTF-8 bytes of {@code s}, each as its character. */
    static String encode(String s) {
        byte[] bytes = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        char[] out = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) out[i] = BYTE_TO_CHAR[bytes[i] & 0xFF];
        return new String(out);
    }

    /** The byte a character stands for, or -1 for a character outside the map. */
    static int byteOf(int codePoint) {
        return codePoint < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[codePoint] : -1;
    }
}
