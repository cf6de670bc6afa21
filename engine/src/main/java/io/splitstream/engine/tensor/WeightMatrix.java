package io.splitstream.engine.tensor;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * A typed, read-only view of a 2-D weight tensor in (usually memory-mapped) GGUF data, little-endian.
 * {@code rows} are output features and {@code cols} input features; row r occupies the contiguous byte
 * range {@code [r*rowBytes, (r+1)*rowBytes)}, which is ggml's layout for a tensor with ne[0] = cols.
 *
 * <p>{@link #multiply(float[], int, float[], ComputePool)} computes, for b &lt; batch,
 * {@code out[b*rows + r] = sum_c W[r][c] * x[b*cols + c]}. Rows are split across threads so that every
 * weight row is read from memory once per call for the whole batch (Q8_0 and Q4_0 read their repacked row
 * tiles, see {@link Q8DotMatrix}).
 *
 * <p>Numerics per type:
 * <ul>
 * <li>Q8_0, Q4_0: as llama.cpp, the activation rows are first quantized to Q8_0 (once per call, with
 * the rounding of ggml's x86 SIMD quantize_row_q8_0: d = amax/127 stored as F16, q = round-half-even of
 * x*127/amax); each block's integer dot is exact and the row sum is accumulated in block order as
 * {@code sum += sumi*d_w*d_x}, ggml's scalar order (see {@link Q8DotMatrix}).</li>
 * <li>Q4_K, Q6_K: each row is dequantized to float (exactly ggml's dequantize_row_q4_K / q6_K) and dotted
 * in float with the unquantized activations. llama.cpp instead quantizes activations to Q8_K, so the
 * results differ from llama.cpp by that activation quantization error (they are closer to exact).</li>
 * <li>F32, F16, BF16: float dot (lane-wise FMA, then a fixed-order horizontal sum).</li>
 * </ul>
 * Every output element is computed independently of the batch size, the batch position and the thread
 * count: results are bit-identical whether a row of x is multiplied alone or within a batch.
 */
public abstract class WeightMatrix {

    /** Below this many multiply-adds a pooled multiply runs on the calling thread. */
    private static final long PARALLEL_THRESHOLD = 1L << 15;

    final GgmlType type;
    final MemorySegment data;
    final int rows;
    final int cols;
    final long rowBytes;

    WeightMatrix(GgmlType type, MemorySegment data, int rows, int cols) {
        this.type = type;
        this.data = data;
        this.rows = rows;
        this.cols = cols;
        this.rowBytes = type.bytesFor(cols);
    }

    /**
     * A view of {@code data} as a rows x cols matrix of {@code type}.
     *
     * @throws IllegalArgumentException if rows or cols is not positive, cols is not a multiple of the
     *                                  type's block size, or data is smaller than rows*rowBytes
     */
    public static WeightMatrix of(GgmlType type, MemorySegment data, int rows, int cols) {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(data, "data");
        if (rows <= 0 || cols <= 0) {
            throw new IllegalArgumentException("bad " + type + " matrix shape " + rows + "x" + cols);
        }
        if (cols % type.blockSize() != 0) {
            throw new IllegalArgumentException(type + " matrix: cols " + cols
                    + " is not a multiple of the block size " + type.blockSize());
        }
        long need = type.bytesFor(cols) * rows;
        if (data.byteSize() < need) {
            throw new IllegalArgumentException(type + " matrix " + rows + "x" + cols + " needs " + need
                    + " bytes but the data has " + data.byteSize());
        }
        return switch (type) {
            case F32 -> new F32Matrix(data, rows, cols);
            case F16 -> new F16Matrix(data, rows, cols);
            case BF16 -> new BF16Matrix(data, rows, cols);
            case Q8_0 -> new Q8_0Matrix(data, rows, cols);
            case Q4_0 -> new Q4_0Matrix(data, rows, cols);
            case Q4_K -> new Q4_KMatrix(data, rows, cols);
            case Q6_K -> new Q6_KMatrix(data, rows, cols);
        };
    }

    /** Output features. */
    public int rows() {
        return rows;
    }

    /** Input features. */
    public int cols() {
        return cols;
    }

    public GgmlType type() {
        return type;
    }

    /** The underlying bytes. */
    public MemorySegment data() {
        return data;
    }

    /** Bytes per row. */
    public long rowBytes() {
        return rowBytes;
    }

    /**
     * Does now, once, the work that the first multiply would otherwise do (Q8_0, Q4_0: repacking the rows), so
     * that a loader can spread it over its threads. Matrices only used for row lookups never need it.
     */
    public void prepareForMultiply() {
    }

    /** Writes the {@link #cols()} float values of row {@code row} to {@code dst[offset ..]}. */
    public abstract void dequantizeRow(int row, float[] dst, int offset);

    /**
     * out[b*rows + r] = sum_c W[r][c]*x[b*cols + c] for b &lt; batch and all rows, split across
     * {@code pool}'s threads by rows ({@code pool} may be null: single-threaded).
     */
    public void multiply(float[] x, int batch, float[] out, ComputePool pool) {
        multiplyEach(new WeightMatrix[] {this}, x, batch, new float[][] {out}, pool);
    }

    /**
     * {@code matrices[i]} times the same x to {@code outs[i]}, for matrices of equal cols (a layer's q, k and v, or
     * gate and up), as one job: the activations are prepared (quantized) once for all matrices of one kind, and
     * the threads share the rows of all of them, so small matrices cost no hand-off of their own. Results are
     * bit-identical to separate {@link #multiply} calls.
     */
    public static void multiplyEach(WeightMatrix[] matrices, float[] x, int batch, float[][] outs, ComputePool pool) {
        if (matrices.length != outs.length) {
            throw new IllegalArgumentException(matrices.length + " matrices but " + outs.length + " outputs");
        }
        Object[] prepared = new Object[matrices.length];
        int[] firstUnit = new int[matrices.length + 1];
        long work = 0;
        for (int i = 0; i < matrices.length; i++) {
            WeightMatrix m = matrices[i];
            m.checkArgs(x, batch, outs[i], 0, m.rows);
            if (m.cols != matrices[0].cols) {
                throw new IllegalArgumentException(m + " does not have the " + matrices[0].cols + " cols of " + matrices[0]);
            }
            boolean sameKind = i > 0 && m.getClass() == matrices[i - 1].getClass();
            if (sameKind) {
                m.prepareForMultiply();
            }
            prepared[i] = sameKind ? prepared[i - 1] : m.prepare(x, batch, pool);
            firstUnit[i + 1] = firstUnit[i] + (m.rows + m.rowGrain() - 1) / m.rowGrain();
            work += (long) m.rows * m.cols * batch;
        }
        if (pool == null || pool.threads() == 1 || work < PARALLEL_THRESHOLD) {
            for (int i = 0; i < matrices.length; i++) {
                matrices[i].multiplyPrepared(prepared[i], x, batch, outs[i], 0, matrices[i].rows);
            }
            return;
        }
        // One unit is one grain of rows of one matrix; a piece of units may span matrices.
        pool.parallelFor(firstUnit[matrices.length], (from, to) -> {
            for (int i = 0; i < matrices.length; i++) {
                int a = Math.max(from, firstUnit[i]);
                int b = Math.min(to, firstUnit[i + 1]);
                if (a < b) {
                    WeightMatrix m = matrices[i];
                    int grain = m.rowGrain();
                    m.multiplyPrepared(prepared[i], x, batch, outs[i], (a - firstUnit[i]) * grain,
                            Math.min(m.rows, (b - firstUnit[i]) * grain));
                }
            }
        });
    }

    /** As {@link #multiply(float[], int, float[], ComputePool)} but only rows [rowFrom, rowTo), on this thread. */
    public void multiply(float[] x, int batch, float[] out, int rowFrom, int rowTo) {
        checkArgs(x, batch, out, rowFrom, rowTo);
        multiplyPrepared(prepare(x, batch, null), x, batch, out, rowFrom, rowTo);
    }

    private void checkArgs(float[] x, int batch, float[] out, int rowFrom, int rowTo) {
        if (batch < 1) {
            throw new IllegalArgumentException("batch < 1: " + batch);
        }
        if (x.length < (long) batch * cols) {
            throw new IllegalArgumentException("x has " + x.length + " floats, need " + (long) batch * cols);
        }
        if (out.length < (long) batch * rows) {
            throw new IllegalArgumentException("out has " + out.length + " floats, need " + (long) batch * rows);
        }
        if (rowFrom < 0 || rowTo > rows || rowFrom > rowTo) {
            throw new IndexOutOfBoundsException("row range [" + rowFrom + ", " + rowTo + ") of " + rows);
        }
    }

    /** Rows that a multiply computes together: thread boundaries fall on multiples of it. */
    int rowGrain() {
        return 1;
    }

    /** Per-call activation preparation (e.g. Q8_0 quantization), shared by all threads; pool may be null. */
    Object prepare(float[] x, int batch, ComputePool pool) {
        return x;
    }

    abstract void multiplyPrepared(Object prepared, float[] x, int batch, float[] out, int rowFrom, int rowTo);

    @Override
    public String toString() {
        return type + "[" + rows + "x" + cols + "]";
    }

    /** Types that are multiplied by dequantizing each row to a float scratch row. */
    abstract static class DequantizingMatrix extends WeightMatrix {
        DequantizingMatrix(GgmlType type, MemorySegment data, int rows, int cols) {
            super(type, data, rows, cols);
        }

        @Override
        final void multiplyPrepared(Object prepared, float[] x, int batch, float[] out, int rowFrom, int rowTo) {
            float[] w = new float[cols];
            for (int r = rowFrom; r < rowTo; r++) {
                dequantizeRow(r, w, 0);
                Kernels.dotBatch(w, cols, x, batch, out, rows, r);
            }
        }
    }
}
