package io.splitstream.engine.gguf;

import io.splitstream.engine.tensor.GgmlType;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A GGUF (v2 or v3) file mapped into memory. Metadata is parsed eagerly with every length and count checked
 * against the bytes that remain, so a malformed file fails with a {@link GgufFormatException} rather than an
 * out-of-memory error; tensor data stays in the mapping and is handed out as slices.
 *
 * <p>Metadata values: integers as {@link Long}, floats as {@link Double}, {@link Boolean}, {@link String},
 * arrays as {@code List<Object>} of those.
 */
public final class GgufFile implements AutoCloseable {
    private static final int MAGIC = 0x46554747; // "GGUF" little-endian
    private static final int MAX_DIMS = 4;

    private final Path path;
    private final Arena arena;
    private final MemorySegment mapping;
    private final int version;
    private final Map<String, Object> metadata;
    private final Map<String, GgufWriter.Type> metadataTypes = new LinkedHashMap<>();
    private final Map<String, GgufTensorInfo> tensors;
    private final long dataStart;

    private GgufFile(Path path, Arena arena, MemorySegment mapping) {
        this.path = path;
        this.arena = arena;
        this.mapping = mapping;
        GgufCursor in = new GgufCursor(mapping);
        if (mapping.byteSize() < 24) {
            throw new GgufFormatException("file too short for a GGUF header (" + mapping.byteSize() + " bytes)", 0);
        }
        int magic = in.i32();
        if (magic != MAGIC) {
            throw new GgufFormatException(String.format("bad magic 0x%08x, not a GGUF file", magic), 0);
        }
        version = in.i32();
        if (version != 2 && version != 3) {
            throw new GgufFormatException("unsupported GGUF version " + version + " (2 and 3 are supported)", 4);
        }
        long tensorCount = in.count("tensor count", 8 + 4 + 8);
        long kvCount = in.count("metadata count", 8 + 4);
        Map<String, Object> kv = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            long at = in.position();
            String key = in.string();
            GgufValueType type = GgufValueType.fromId(in.i32(), in.position() - 4);
            GgufValueType element = type == GgufValueType.ARRAY && in.position() + 4 <= mapping.byteSize()
                    ? GgufValueType.fromId(mapping.get(GgufLayouts.INT, in.position()), in.position()) : null;
            metadataTypes.put(key, new GgufWriter.Type(type, element));
            if (kv.put(key, in.value(type)) != null) {
                throw new GgufFormatException("duplicate metadata key '" + key + "'", at);
            }
        }
        metadata = Collections.unmodifiableMap(kv);
        long alignment = 32;
        Object align = kv.get("general.alignment");
        if (align != null) {
            if (!(align instanceof Long a) || a <= 0 || Long.bitCount(a) != 1 || a > 1 << 20) {
                throw new GgufFormatException("general.alignment must be a power of two, got " + align, 0);
            }
            alignment = (Long) align;
        }
        List<GgufTensorInfo> infos = new ArrayList<>();
        Map<String, GgufTensorInfo> byName = new LinkedHashMap<>();
        for (long i = 0; i < tensorCount; i++) {
            long at = in.position();
            String name = in.string();
            int nDims = in.i32();
            if (nDims < 1 || nDims > MAX_DIMS) {
                throw new GgufFormatException("tensor '" + name + "' has " + nDims + " dimensions", at);
            }
            long[] dims = new long[nDims];
            long elements = 1;
            for (int d = 0; d < nDims; d++) {
                dims[d] = in.i64();
                if (dims[d] <= 0 || dims[d] > mapping.byteSize() * 2) {
                    throw new GgufFormatException("tensor '" + name + "' dimension " + d + " is " + dims[d], at);
                }
                elements = Math.multiplyHigh(elements, dims[d]) != 0 ? Long.MAX_VALUE : elements * dims[d];
            }
            int typeId = in.i32();
            GgmlType type;
            try {
                type = GgmlType.fromId(typeId);
            } catch (IllegalArgumentException e) {
                throw new GgufFormatException("tensor '" + name + "': " + e.getMessage(), in.position() - 4);
            }
            long offset = in.i64();
            if (elements > mapping.byteSize() * 2 || elements % type.blockSize() != 0) {
                throw new GgufFormatException("tensor '" + name + "' has " + elements + " elements, impossible for "
                        + type + " in a file of " + mapping.byteSize() + " bytes", at);
            }
            if (offset < 0 || offset % alignment != 0) {
                throw new GgufFormatException("tensor '" + name + "' data offset " + offset + " is not aligned to " + alignment, at);
            }
            GgufTensorInfo info = new GgufTensorInfo(name, dims, type, offset);
            if (byName.put(name, info) != null) {
                throw new GgufFormatException("duplicate tensor '" + name + "'", at);
            }
            infos.add(info);
        }
        long pos = in.position();
        dataStart = (pos + alignment - 1) / alignment * alignment;
        for (GgufTensorInfo info : infos) {
            long end = dataStart + info.offset() + info.byteSize();
            if (end > mapping.byteSize() || end < 0) {
                throw new GgufFormatException("tensor '" + info.name() + "' data [" + (dataStart + info.offset()) + ", " + end
                        + ") lies outside the file of " + mapping.byteSize() + " bytes", dataStart + info.offset());
            }
        }
        tensors = Collections.unmodifiableMap(byName);
    }

    /** Maps and parses a GGUF file; the mapping lives until {@link #close()}. */
    public static GgufFile open(Path path) throws IOException {
        Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            MemorySegment mapping = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena);
            return new GgufFile(path, arena, mapping);
        } catch (RuntimeException | IOException e) {
            arena.close();
            throw e;
        }
    }

    public Path path() {
        return path;
    }

    public int version() {
        return version;
    }

    public long fileSize() {
        return mapping.byteSize();
    }

    public Map<String, Object> metadata() {
        return metadata;
    }

    /** The stored type of a metadata value, so that a copy (quantize) keeps it exactly. */
    public GgufWriter.Type metadataType(String key) {
        return metadataTypes.get(key);
    }

    public Map<String, GgufTensorInfo> tensors() {
        return tensors;
    }

    public long dataStart() {
        return dataStart;
    }

    /** The tensor's bytes, a slice of the mapping. */
    public MemorySegment tensorData(GgufTensorInfo info) {
        return mapping.asSlice(dataStart + info.offset(), info.byteSize());
    }

    public GgufTensorInfo tensor(String name) {
        GgufTensorInfo info = tensors.get(name);
        if (info == null) {
            throw new IllegalArgumentException("tensor '" + name + "' missing from " + path.getFileName());
        }
        return info;
    }

    public MemorySegment mapping() {
        return mapping;
    }

    public String string(String key) {
        return required(key, String.class);
    }

    public long integer(String key) {
        return required(key, Long.class);
    }

    public long integer(String key, long fallback) {
        Object v = metadata.get(key);
        return v == null ? fallback : typed(key, v, Long.class);
    }

    public double real(String key, double fallback) {
        Object v = metadata.get(key);
        if (v instanceof Long l) {
            return l;
        }
        return v == null ? fallback : typed(key, v, Double.class);
    }

    public boolean bool(String key, boolean fallback) {
        Object v = metadata.get(key);
        return v == null ? fallback : typed(key, v, Boolean.class);
    }

    public String string(String key, String fallback) {
        Object v = metadata.get(key);
        return v == null ? fallback : typed(key, v, String.class);
    }

    private <T> T required(String key, Class<T> type) {
        Object v = metadata.get(key);
        if (v == null) {
            throw new IllegalArgumentException("metadata key '" + key + "' missing from " + path.getFileName());
        }
        return typed(key, v, type);
    }

    private <T> T typed(String key, Object v, Class<T> type) {
        if (!type.isInstance(v)) {
            throw new IllegalArgumentException("metadata key '" + key + "' in " + path.getFileName() + " is a "
                    + v.getClass().getSimpleName() + ", expected " + type.getSimpleName());
        }
        return type.cast(v);
    }

    @Override
    public void close() {
        arena.close();
    }

    /** Reads little-endian values with bounds checks that name the offset. */
    private static final class GgufCursor {
        private final MemorySegment seg;
        private long pos;

        GgufCursor(MemorySegment seg) {
            this.seg = seg;
        }

        long position() {
            return pos;
        }

        private void need(long bytes, String what) {
            if (bytes < 0 || pos + bytes > seg.byteSize()) {
                throw new GgufFormatException("truncated file: " + what + " needs " + bytes + " bytes but "
                        + (seg.byteSize() - pos) + " remain", pos);
            }
        }

        int u8() {
            need(1, "u8");
            return Byte.toUnsignedInt(seg.get(java.lang.foreign.ValueLayout.JAVA_BYTE, pos++));
        }

        int i16() {
            need(2, "i16");
            short v = seg.get(GgufLayouts.SHORT, pos);
            pos += 2;
            return v;
        }

        int i32() {
            need(4, "i32");
            int v = seg.get(GgufLayouts.INT, pos);
            pos += 4;
            return v;
        }

        long i64() {
            need(8, "i64");
            long v = seg.get(GgufLayouts.LONG, pos);
            pos += 8;
            return v;
        }

        /** A u64 count that must be satisfiable by the remaining bytes, each item taking at least minBytes. */
        long count(String what, long minBytes) {
            long at = pos;
            long n = i64();
            if (n < 0 || n > (seg.byteSize() - pos) / Math.max(1, minBytes)) {
                throw new GgufFormatException(what + " " + Long.toUnsignedString(n) + " is impossible with "
                        + (seg.byteSize() - pos) + " bytes left", at);
            }
            return n;
        }

        String string() {
            long at = pos;
            long len = count("string length", 1);
            byte[] bytes = new byte[(int) Math.min(len, Integer.MAX_VALUE - 16)];
            if (bytes.length != len) {
                throw new GgufFormatException("string length " + len + " too large", at);
            }
            MemorySegment.copy(seg, java.lang.foreign.ValueLayout.JAVA_BYTE, pos, bytes, 0, bytes.length);
            pos += len;
            try {
                return StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(java.nio.ByteBuffer.wrap(bytes)).toString();
            } catch (CharacterCodingException e) {
                // Some real vocabularies hold invalid UTF-8 pieces; keep them readable rather than refuse the file.
                return new String(bytes, StandardCharsets.UTF_8);
            }
        }

        Object value(GgufValueType type) {
            return switch (type) {
                case UINT8 -> (long) u8();
                case INT8 -> (long) (byte) u8();
                case UINT16 -> (long) (i16() & 0xffff);
                case INT16 -> (long) i16();
                case UINT32 -> Integer.toUnsignedLong(i32());
                case INT32 -> (long) i32();
                case FLOAT32 -> (double) Float.intBitsToFloat(i32());
                case BOOL -> {
                    long at = pos;
                    int b = u8();
                    if (b > 1) {
                        throw new GgufFormatException("bool value " + b, at);
                    }
                    yield b == 1;
                }
                case STRING -> string();
                case UINT64, INT64 -> i64();
                case FLOAT64 -> Double.longBitsToDouble(i64());
                case ARRAY -> {
                    long at = pos;
                    GgufValueType element = GgufValueType.fromId(i32(), at);
                    if (element == GgufValueType.ARRAY && depthGuard++ > 8) {
                        throw new GgufFormatException("arrays nested too deeply", at);
                    }
                    long n = count("array length", minBytes(element));
                    List<Object> list = new ArrayList<>((int) Math.min(n, 1 << 16));
                    for (long i = 0; i < n; i++) {
                        list.add(value(element));
                    }
                    if (element == GgufValueType.ARRAY) {
                        depthGuard--;
                    }
                    yield Collections.unmodifiableList(list);
                }
            };
        }

        private int depthGuard;

        private static long minBytes(GgufValueType t) {
            return switch (t) {
                case UINT8, INT8, BOOL -> 1;
                case UINT16, INT16 -> 2;
                case UINT32, INT32, FLOAT32 -> 4;
                case UINT64, INT64, FLOAT64, STRING -> 8;
                case ARRAY -> 12;
            };
        }
    }
}
