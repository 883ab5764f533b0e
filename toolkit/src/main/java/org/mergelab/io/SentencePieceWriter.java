package org.mergelab.io;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Encodes a SentencePiece {@code tokenizer.model} (ModelProto, protobuf wire format) from its pieces and the
 * settings that matter when encoding: model type, byte fallback, special ids and the normalizer's whitespace rules.
 * Used to rebuild the tokenizer of a GGUF file, which stores the pieces, scores and types but not the protobuf.
 */
public final class SentencePieceWriter {
    /** The settings written besides the pieces (trainer_spec and normalizer_spec fields). */
    public record Settings(boolean bpe, boolean byteFallback, int unkId, int bosId, int eosId, int padId,
                           boolean addDummyPrefix, boolean removeExtraWhitespaces) {}

    private SentencePieceWriter() {}

    public static byte[] encode(List<SentencePieceModel.Piece> pieces, Settings s) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (SentencePieceModel.Piece p : pieces) {
            ByteArrayOutputStream m = new ByteArrayOutputStream();
            string(m, 1, p.text());
            tag(m, 2, 5);
            m.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(p.score()).array());
            varintField(m, 3, p.type().ordinal() + 1);
            message(out, 1, m);
        }
        ByteArrayOutputStream t = new ByteArrayOutputStream();
        varintField(t, 3, s.bpe() ? 2 : 1);
        varintField(t, 4, pieces.size());
        varintField(t, 35, s.byteFallback() ? 1 : 0);
        varintField(t, 40, s.unkId());
        varintField(t, 41, s.bosId());
        varintField(t, 42, s.eosId());
        varintField(t, 43, s.padId());
        message(out, 2, t);
        ByteArrayOutputStream n = new ByteArrayOutputStream();
        string(n, 1, "identity");
        varintField(n, 3, s.addDummyPrefix() ? 1 : 0);
        varintField(n, 4, s.removeExtraWhitespaces() ? 1 : 0);
        varintField(n, 5, 1);
        message(out, 3, n);
        return out.toByteArray();
    }

    private static void tag(ByteArrayOutputStream o, int field, int wireType) {
        varint(o, ((long) field << 3) | wireType);
    }

    private static void varintField(ByteArrayOutputStream o, int field, long v) {
        tag(o, field, 0);
        varint(o, v);
    }

    /** Negative int32 values take ten bytes, as protobuf sign-extends them to 64 bits. */
    private static void varint(ByteArrayOutputStream o, long v) {
        while ((v & ~0x7FL) != 0) {
            o.write((int) ((v & 0x7F) | 0x80));
            v >>>= 7;
        }
        o.write((int) v);
    }

    private static void string(ByteArrayOutputStream o, int field, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        tag(o, field, 2);
        varint(o, b.length);
        o.writeBytes(b);
    }

    private static void message(ByteArrayOutputStream o, int field, ByteArrayOutputStream m) {
        tag(o, field, 2);
        varint(o, m.size());
        o.writeBytes(m.toByteArray());
    }
}
