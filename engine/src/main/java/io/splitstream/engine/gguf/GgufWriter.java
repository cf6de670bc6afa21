package io.splitstream.engine.gguf;

import io.splitstream.engine.tensor.GgmlType;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Writes GGUF v3 files: typed metadata, then tensor infos, then each tensor's data aligned to
 * {@code general.alignment} (32). Tensor data is produced by a callback writing into a mapped slice, so
 * multi-gigabyte models are written without holding them on the heap. The file appears atomically.
 */
public final class GgufWriter {
    private static final int ALIGNMENT = 32;

    /** A metadata value's GGUF type; {@code element} is set for arrays. */
    public record Type(GgufValueType value, GgufValueType element) {
        public static Type of(GgufValueType value) {
            return new Type(value, null);
        }

        public static Type arrayOf(GgufValueType element) {
            return new Type(GgufValueType.ARRAY, element);
        }
    }

    private record Entry(Type type, Object value) {
    }

    private record Tensor(String name, long[] dims, GgmlType type, Consumer<MemorySegment> fill) {
        long bytes() {
            long n = 1;
            for (long d : dims) {
                n *= d;
            }
            return type.bytesFor(n);
        }
    }

    private final Map<String, Entry> metadata = new LinkedHashMap<>();
    private final List<Tensor> tensors = new ArrayList<>();

    public GgufWriter put(String key, Type type, Object value) {
        metadata.put(key, new Entry(type, value));
        return this;
    }

    public GgufWriter putString(String key, String value) {
        return put(key, Type.of(GgufValueType.STRING), value);
    }

    public GgufWriter putU32(String key, long value) {
        return put(key, Type.of(GgufValueType.UINT32), value);
    }

    public GgufWriter putF32(String key, double value) {
        return put(key, Type.of(GgufValueType.FLOAT32), value);
    }

    public GgufWriter putBool(String key, boolean value) {
        return put(key, Type.of(GgufValueType.BOOL), value);
    }

    /** Copies every metadata value of {@code source} with its stored type. */
    public GgufWriter putAll(GgufFile source) {
        for (var e : source.metadata().entrySet()) {
            put(e.getKey(), source.metadataType(e.getKey()), e.getValue());
        }
        return this;
    }

    /**
     * Adds a tensor.
     *
     * @param dims ggml order (row length first)
     * @param fill writes exactly the tensor's bytes into the given segment
     */
    public GgufWriter addTensor(String name, long[] dims, GgmlType type, Consumer<MemorySegment> fill) {
        tensors.add(new Tensor(name, dims.clone(), type, fill));
        return this;
    }

    public void write(Path path) throws IOException {
        ByteBuffer header = header();
        long dataStart = align(header.remaining());
        long size = dataStart;
        for (Tensor t : tensors) {
            size = align(size + t.bytes());
        }
        Path tmp = path.resolveSibling(path.getFileName() + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.READ, StandardOpenOption.WRITE); Arena arena = Arena.ofShared()) {
            MemorySegment out = ch.map(FileChannel.MapMode.READ_WRITE, 0, size, arena);
            MemorySegment.copy(MemorySegment.ofBuffer(header), 0, out, 0, header.remaining());
            long pos = dataStart;
            for (Tensor t : tensors) {
                t.fill.accept(out.asSlice(pos, t.bytes()));
                pos = align(pos + t.bytes());
            }
            out.force();
        }
        Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static long align(long n) {
        return (n + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }

    private ByteBuffer header() {
        Buf b = new Buf();
        b.i32(0x46554747);
        b.i32(3);
        b.i64(tensors.size());
        Map<String, Entry> all = new LinkedHashMap<>(metadata);
        all.put("general.alignment", new Entry(Type.of(GgufValueType.UINT32), (long) ALIGNMENT));
        b.i64(all.size());
        for (var e : all.entrySet()) {
            b.string(e.getKey());
            b.i32(e.getValue().type.value().ordinal());
            if (e.getValue().type.value() == GgufValueType.ARRAY) {
                b.i32(e.getValue().type.element().ordinal());
                List<?> list = (List<?>) e.getValue().value;
                b.i64(list.size());
                for (Object o : list) {
                    b.value(e.getValue().type.element(), o);
                }
            } else {
                b.value(e.getValue().type.value(), e.getValue().value);
            }
        }
        long offset = 0;
        for (Tensor t : tensors) {
            b.string(t.name);
            b.i32(t.dims.length);
            for (long d : t.dims) {
                b.i64(d);
            }
            b.i32(t.type.id());
            b.i64(offset);
            offset = align(offset + t.bytes());
        }
        return b.finish();
    }

    /** A growable little-endian buffer for the header. */
    private static final class Buf {
        private ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);

        private void ensure(int n) {
            if (buf.remaining() < n) {
                ByteBuffer bigger = ByteBuffer.allocate(Math.max(buf.capacity() * 2, buf.position() + n)).order(ByteOrder.LITTLE_ENDIAN);
                buf.flip();
                bigger.put(buf);
                buf = bigger;
            }
        }

        void i32(int v) {
            ensure(4);
            buf.putInt(v);
        }

        void i64(long v) {
            ensure(8);
            buf.putLong(v);
        }

        void string(String s) {
            byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
            i64(bytes.length);
            ensure(bytes.length);
            buf.put(bytes);
        }

        void value(GgufValueType type, Object o) {
            ensure(8);
            switch (type) {
                case UINT8, INT8 -> buf.put((byte) ((Number) o).longValue());
                case UINT16, INT16 -> buf.putShort((short) ((Number) o).longValue());
                case UINT32, INT32 -> buf.putInt((int) ((Number) o).longValue());
                case UINT64, INT64 -> buf.putLong(((Number) o).longValue());
                case FLOAT32 -> buf.putFloat(((Number) o).floatValue());
                case FLOAT64 -> buf.putDouble(((Number) o).doubleValue());
                case BOOL -> buf.put((byte) (((Boolean) o) ? 1 : 0));
                case STRING -> string((String) o);
                case ARRAY -> throw new IllegalArgumentException("nested arrays are not written");
            }
        }

        ByteBuffer finish() {
            buf.flip();
            return buf;
        }
    }

}
