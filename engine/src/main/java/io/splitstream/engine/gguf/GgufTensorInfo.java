package io.splitstream.engine.gguf;

import io.splitstream.engine.tensor.GgmlType;

/**
 * One tensor's entry in the GGUF header.
 *
 * @param dims ggml order: dims[0] is the row length (number of columns)
 * @param offset byte offset of the data relative to the start of the tensor data section
 */
public record GgufTensorInfo(String name, long[] dims, GgmlType type, long offset) {

    public long elements() {
        long n = 1;
        for (long d : dims) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    public long byteSize() {
        return type.bytesFor(elements());
    }

    public int columns() {
        return Math.toIntExact(dims[0]);
    }

    public int rows() {
        return Math.toIntExact(elements() / dims[0]);
    }
}
