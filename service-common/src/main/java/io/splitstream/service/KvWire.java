package io.splitstream.service;

import com.google.protobuf.ByteString;
import io.splitstream.engine.kv.KvChunk;
import io.splitstream.proto.internal.v1.KvEncoding;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * The KV wire format: one message per (layer, position range). F32 sends little-endian floats; Q8 sends, per
 * token and KV head, a float scale (max|x|/127) then head_dim int8 values, a quarter of the bytes for ~0.4%
 * perplexity. Each chunk carries a CRC32C of its keys then values.
 */
public final class KvWire {
    private KvWire() {
    }

    public static io.splitstream.proto.internal.v1.KvChunk encode(KvChunk chunk, KvEncoding encoding, int headDim) {
        ByteString keys = encode(chunk.keys(), encoding, headDim);
        ByteString values = encode(chunk.values(), encoding, headDim);
        return io.splitstream.proto.internal.v1.KvChunk.newBuilder()
                .setLayer(chunk.layer()).setFromPosition(chunk.fromPosition()).setTokens(chunk.tokens())
                .setKeys(keys).setValues(values).setChecksum(checksum(keys, values)).build();
    }

    /**
     * @throws KvChecksumException when the payload is corrupt
     * @throws IllegalArgumentException when its size does not fit the declared shape
     */
    public static KvChunk decode(io.splitstream.proto.internal.v1.KvChunk message, KvEncoding encoding, int kvDim, int headDim) {
        if (checksum(message.getKeys(), message.getValues()) != message.getChecksum()) {
            throw new KvChecksumException("KV chunk for layer " + message.getLayer() + " at position "
                    + message.getFromPosition() + " fails its CRC32C checksum");
        }
        int elements = Math.multiplyExact(message.getTokens(), kvDim);
        return new KvChunk(message.getLayer(), message.getFromPosition(), message.getTokens(),
                decode(message.getKeys(), encoding, elements, headDim), decode(message.getValues(), encoding, elements, headDim));
    }

    public static int checksum(ByteString keys, ByteString values) {
        CRC32C crc = new CRC32C();
        crc.update(keys.asReadOnlyByteBuffer());
        crc.update(values.asReadOnlyByteBuffer());
        return (int) crc.getValue();
    }

    private static ByteString encode(float[] x, KvEncoding encoding, int headDim) {
        if (encoding == KvEncoding.KV_ENCODING_F32) {
            ByteBuffer b = ByteBuffer.allocate(x.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            b.asFloatBuffer().put(x);
            return ByteString.copyFrom(b.array());
        }
        int groups = x.length / headDim;
        ByteBuffer b = ByteBuffer.allocate(groups * (4 + headDim)).order(ByteOrder.LITTLE_ENDIAN);
        for (int g = 0; g < groups; g++) {
            float max = 0f;
            for (int i = 0; i < headDim; i++) {
                max = Math.max(max, Math.abs(x[g * headDim + i]));
            }
            float scale = max / 127f;
            float inverse = scale == 0f ? 0f : 1f / scale;
            b.putFloat(scale);
            for (int i = 0; i < headDim; i++) {
                b.put((byte) Math.round(x[g * headDim + i] * inverse));
            }
        }
        return ByteString.copyFrom(b.array());
    }

    private static float[] decode(ByteString bytes, KvEncoding encoding, int elements, int headDim) {
        ByteBuffer b = bytes.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[elements];
        if (encoding == KvEncoding.KV_ENCODING_F32) {
            if (b.remaining() != elements * 4) {
                throw new IllegalArgumentException("F32 KV payload of " + b.remaining() + " bytes, expected " + elements * 4);
            }
            b.asFloatBuffer().get(out);
            return out;
        }
        int groups = elements / headDim;
        if (b.remaining() != groups * (4 + headDim)) {
            throw new IllegalArgumentException("Q8 KV payload of " + b.remaining() + " bytes, expected " + groups * (4 + headDim));
        }
        for (int g = 0; g < groups; g++) {
            float scale = b.getFloat();
            for (int i = 0; i < headDim; i++) {
                out[g * headDim + i] = b.get() * scale;
            }
        }
        return out;
    }
}
