package org.mergelab.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A SentencePiece {@code tokenizer.model}, decoded from its protobuf wire format (ModelProto): the pieces with
 * their scores and types, and the trainer and normalizer settings that decide how text is split.
 */
public final class SentencePieceModel {
    /** SentencePiece piece types, as numbered in sentencepiece_model.proto. */
    public enum PieceType { NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE;
        static PieceType of(int n) {
            return switch (n) {
                case 2 -> UNKNOWN; case 3 -> CONTROL; case 4 -> USER_DEFINED; case 5 -> UNUSED; case 6 -> BYTE;
                default -> NORMAL;
            };
        }
    }

    public record Piece(String text, float score, PieceType type) {}

    private final List<Piece> pieces;
    private final int modelType; // 1 unigram, 2 bpe, 3 word, 4 char
    private final boolean byteFallback;
    private final int unkId, bosId, eosId, padId;
    private final boolean addDummyPrefix;
    private final boolean removeExtraWhitespaces;
    private final String normalizerName;

    private SentencePieceModel(List<Piece> pieces, int modelType, boolean byteFallback, int unkId, int bosId,
                               int eosId, int padId, boolean addDummyPrefix, boolean removeExtraWhitespaces,
                               String normalizerName) {
        this.pieces = Collections.unmodifiableList(pieces);
        this.modelType = modelType;
        this.byteFallback = byteFallback;
        this.unkId = unkId;
        this.bosId = bosId;
        this.eosId = eosId;
        this.padId = padId;
        this.addDummyPrefix = addDummyPrefix;
        this.removeExtraWhitespaces = removeExtraWhitespaces;
        this.normalizerName = normalizerName;
    }

    public static SentencePieceModel read(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new CheckpointException(file + ": cannot read tokenizer: " + e.getMessage(), e);
        }
        try {
            return parse(bytes);
        } catch (RuntimeException e) {
            throw new CheckpointException(file + ": not a SentencePiece model: " + e.getMessage(), e);
        }
    }

    static SentencePieceModel parse(byte[] bytes) {
        List<Piece> pieces = new ArrayList<>();
        int[] trainer = {2, 0, 0, 1, 2, -1}; // modelType, byteFallback, unk, bos, eos, pad (proto defaults)
        boolean[] norm = {true, true};
        String[] normName = {""};
        Wire w = new Wire(ByteBuffer.wrap(bytes));
        while (w.hasMore()) {
            int tag = w.varint32();
            int field = tag >>> 3;
            if (field == 1 && (tag & 7) == 2) {
                pieces.add(parsePiece(w.message()));
            } else if (field == 2 && (tag & 7) == 2) {
                Wire t = w.message();
                while (t.hasMore()) {
                    int tt = t.varint32();
                    switch (tt >>> 3) {
                        case 3 -> trainer[0] = t.varint32();
                        case 35 -> trainer[1] = t.varint32();
                        case 40 -> trainer[2] = t.varint32();
                        case 41 -> trainer[3] = t.varint32();
                        case 42 -> trainer[4] = t.varint32();
                        case 43 -> trainer[5] = t.varint32();
                        default -> t.skip(tt & 7);
                    }
                }
            } else if (field == 3 && (tag & 7) == 2) {
                Wire n = w.message();
                while (n.hasMore()) {
                    int nt = n.varint32();
                    switch (nt >>> 3) {
                        case 1 -> normName[0] = n.string();
                        case 3 -> norm[0] = n.varint32() != 0;
                        case 4 -> norm[1] = n.varint32() != 0;
                        default -> n.skip(nt & 7);
                    }
                }
            } else {
                w.skip(tag & 7);
            }
        }
        if (pieces.isEmpty()) throw new IllegalArgumentException("no pieces");
        return new SentencePieceModel(pieces, trainer[0], trainer[1] != 0, trainer[2], trainer[3], trainer[4],
                trainer[5], norm[0], norm[1], normName[0]);
    }

    private static Piece parsePiece(Wire p) {
        String text = "";
        float score = 0;
        int type = 1;
        while (p.hasMore()) {
            int tag = p.varint32();
            switch (tag >>> 3) {
                case 1 -> text = p.string();
                case 2 -> score = p.fixed32();
                case 3 -> type = p.varint32();
                default -> p.skip(tag & 7);
            }
        }
        return new Piece(text, score, PieceType.of(type));
    }

    public List<Piece> pieces() { return pieces; }

    public int size() { return pieces.size(); }

    public boolean isBpe() { return modelType == 2; }

    public boolean byteFallback() { return byteFallback; }

    public int unkId() { return unkId; }

    public int bosId() { return bosId; }

    public int eosId() { return eosId; }

    public int padId() { return padId; }

    public boolean addDummyPrefix() { return addDummyPrefix; }

    public boolean removeExtraWhitespaces() { return removeExtraWhitespaces; }

    public String normalizerName() { return normalizerName; }

    public String piece(int id) { return pieces.get(id).text(); }

    /** Minimal protobuf wire-format reader: enough for ModelProto. */
    private static final class Wire {
        private final ByteBuffer b;

        Wire(ByteBuffer b) {
            this.b = b.order(ByteOrder.LITTLE_ENDIAN);
        }

        boolean hasMore() { return b.hasRemaining(); }

        long varint() {
            long result = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                byte x = b.get();
                result |= (long) (x & 0x7F) << shift;
                if ((x & 0x80) == 0) return result;
            }
            throw new IllegalArgumentException("malformed varint");
        }

        int varint32() { return (int) varint(); }

        float fixed32() { return b.getFloat(); }

        byte[] bytes() {
            int len = varint32();
            if (len < 0 || len > b.remaining()) throw new IllegalArgumentException("length " + len + " past the end");
            byte[] out = new byte[len];
            b.get(out);
            return out;
        }

        String string() { return new String(bytes(), StandardCharsets.UTF_8); }

        Wire message() { return new Wire(ByteBuffer.wrap(bytes())); }

        void skip(int wireType) {
            switch (wireType) {
                case 0 -> varint();
                case 1 -> b.position(b.position() + 8);
                case 2 -> bytes();
                case 5 -> b.position(b.position() + 4);
                default -> throw new IllegalArgumentException("unsupported wire type " + wireType);
            }
        }
    }
}
