package io.splitstream.engine.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class GgmlTypeTest {

    @Test
    void idsAndGeometryMatchGgml() {
        int[][] expected = {{0, 1, 4}, {1, 1, 2}, {2, 32, 18}, {8, 32, 34}, {12, 256, 144}, {14, 256, 210}, {30, 1, 2}};
        GgmlType[] types = {GgmlType.F32, GgmlType.F16, GgmlType.Q4_0, GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.Q6_K, GgmlType.BF16};
        for (int i = 0; i < types.length; i++) {
            assertEquals(expected[i][0], types[i].id());
            assertEquals(expected[i][1], types[i].blockSize());
            assertEquals(expected[i][2], types[i].blockBytes());
            assertEquals(types[i], GgmlType.fromId(expected[i][0]));
        }
    }

    @Test
    void bytesFor() {
        assertEquals(4096 * 4, GgmlType.F32.bytesFor(4096));
        assertEquals(34 * 2, GgmlType.Q8_0.bytesFor(64));
        assertEquals(18 * 4, GgmlType.Q4_0.bytesFor(128));
        assertEquals(144 * 3, GgmlType.Q4_K.bytesFor(768));
        assertEquals(210, GgmlType.Q6_K.bytesFor(256));
        assertEquals(6, GgmlType.BF16.bytesFor(3));
        assertThrows(IllegalArgumentException.class, () -> GgmlType.Q8_0.bytesFor(33));
        assertThrows(IllegalArgumentException.class, () -> GgmlType.Q4_K.bytesFor(128));
    }

    @Test
    void unsupportedIdsAreNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GgmlType.fromId(6));
        assertTrue(e.getMessage().startsWith("unsupported ggml type 6"), e.getMessage());
        assertTrue(e.getMessage().contains("Q5_0"), e.getMessage());
        assertTrue(message(13).contains("Q5_K"));
        assertTrue(message(11).contains("Q3_K"));
        assertTrue(message(10).contains("Q2_K"));
        assertTrue(message(15).contains("Q8_K"));
        assertTrue(message(7).contains("Q5_1"));
        assertTrue(message(16).contains("IQ2_XXS"));
        assertEquals("unsupported ggml type 999", message(999));
        assertEquals("unsupported ggml type -1", message(-1));
    }

    private static String message(int id) {
        return assertThrows(IllegalArgumentException.class, () -> GgmlType.fromId(id)).getMessage();
    }
}
