package org.mergelab.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import org.junit.jupiter.api.Test;
import org.mergelab.testing.Reference;

/**
 * float8_e4m3fn and float8_e5m2 against torch itself (reference/formats/float8.json, made by
 * make_format_fixtures.py): all 256 codes decode to torch's values, and encoding every midpoint between neighbouring
 * codes, one float32 step either side of it, and the special inputs gives torch's codes (round to nearest even;
 * e4m3fn saturates at +-448, infinities included; e5m2 overflows to infinity past 57344).
 */
class Float8Test {
    static JsonNode ref() throws IOException {
        return Json.read(Reference.file("formats/float8.json"));
    }

    @Test
    void allCodesDecodeAsTorchDoes() throws IOException {
        JsonNode r = ref();
        for (int code = 0; code < 256; code++) {
            float e4 = Float.intBitsToFloat(r.get("e4m3fn").get("decode_bits").get(code).asInt());
            float e5 = Float.intBitsToFloat(r.get("e5m2").get("decode_bits").get(code).asInt());
            assertSame(e4, Half.f8e4m3ToFloat((byte) code), "e4m3fn code " + code);
            assertSame(e5, Half.f8e5m2ToFloat((byte) code), "e5m2 code " + code);
        }
        assertEquals(448f, Half.f8e4m3ToFloat((byte) 0x7E));
        assertTrue(Float.isNaN(Half.f8e4m3ToFloat((byte) 0x7F)), "e4m3fn has no infinity: 0x7F is NaN");
        assertEquals(Float.POSITIVE_INFINITY, Half.f8e5m2ToFloat((byte) 0x7C));
        assertEquals(0x1p-9f, Half.f8e4m3ToFloat((byte) 1), "smallest e4m3fn subnormal");
        assertEquals(0x1p-16f, Half.f8e5m2ToFloat((byte) 1), "smallest e5m2 subnormal");
    }

    @Test
    void midpointsAndSpecialsEncodeAsTorchDoes() throws IOException {
        JsonNode r = ref();
        int checked = 0;
        for (JsonNode p : r.get("e4m3fn").get("encode")) {
            float x = Float.intBitsToFloat(p.get(0).asInt());
            int expected = p.get(1).asInt();
            assertEquals(expected, Half.floatToF8e4m3(x) & 0xFF, "e4m3fn of " + x);
            checked++;
        }
        for (JsonNode p : r.get("e5m2").get("encode")) {
            float x = Float.intBitsToFloat(p.get(0).asInt());
            int expected = p.get(1).asInt();
            assertEquals(expected, Half.floatToF8e5m2(x) & 0xFF, "e5m2 of " + x);
            checked++;
        }
        assertTrue(checked > 2 * 3 * 250, "every midpoint of both formats was probed: " + checked);
    }

    @Test
    void everyFiniteCodeRoundTrips() {
        for (int code = 0; code < 256; code++) {
            float a = Half.f8e4m3ToFloat((byte) code), b = Half.f8e5m2ToFloat((byte) code);
            if (!Float.isNaN(a)) assertEquals(code, Half.floatToF8e4m3(a) & 0xFF, "e4m3fn " + code);
            if (!Float.isNaN(b)) assertEquals(code, Half.floatToF8e5m2(b) & 0xFF, "e5m2 " + code);
        }
    }

    private static void assertSame(float expected, float actual, String what) {
        if (Float.isNaN(expected)) {
            assertTrue(Float.isNaN(actual), what + ": expected NaN, got " + actual);
        } else {
            assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(actual), what + ": " + actual);
        }
    }
}
