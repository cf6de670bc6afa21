package io.splitstream.service;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.protobuf.ByteString;
import io.splitstream.engine.kv.KvChunk;
import io.splitstream.proto.internal.v1.KvEncoding;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class KvWireTest {
    private static KvChunk chunk() {
        SplittableRandom r = new SplittableRandom(3);
        float[] k = new float[3 * 16];
        float[] v = new float[3 * 16];
        for (int i = 0; i < k.length; i++) {
            k[i] = (float) r.nextGaussian();
            v[i] = (float) r.nextGaussian() * 5;
        }
        return new KvChunk(2, 10, 3, k, v);
    }

    @Test
    void f32IsExactAndQ8IsClose() {
        KvChunk c = chunk();
        KvChunk back = KvWire.decode(KvWire.encode(c, KvEncoding.KV_ENCODING_F32, 8), KvEncoding.KV_ENCODING_F32, 16, 8);
        assertArrayEquals(c.keys(), back.keys());
        assertArrayEquals(c.values(), back.values());
        assertEquals(10, back.fromPosition());
        var q8 = KvWire.encode(c, KvEncoding.KV_ENCODING_Q8, 8);
        assertEquals(6 * (4 + 8), q8.getKeys().size(), "a quarter of the bytes plus a scale per head");
        KvChunk approx = KvWire.decode(q8, KvEncoding.KV_ENCODING_Q8, 16, 8);
        for (int i = 0; i < c.values().length; i++) {
            assertEquals(c.values()[i], approx.values()[i], 0.2);
        }
    }

    @Test
    void corruptionAndWrongSizesAreRefused() {
        var m = KvWire.encode(chunk(), KvEncoding.KV_ENCODING_F32, 8);
        byte[] bytes = m.getValues().toByteArray();
        bytes[5] ^= 1;
        var corrupt = m.toBuilder().setValues(ByteString.copyFrom(bytes)).build();
        assertThrows(KvChecksumException.class, () -> KvWire.decode(corrupt, KvEncoding.KV_ENCODING_F32, 16, 8));
        assertThrows(IllegalArgumentException.class, () -> KvWire.decode(m, KvEncoding.KV_ENCODING_F32, 8, 8));
    }
}
