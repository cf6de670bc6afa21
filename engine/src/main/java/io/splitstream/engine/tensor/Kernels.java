package io.splitstream.engine.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/** Shared species, layouts and species-generic float kernels. */
final class Kernels {
    private Kernels() {
    }

    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    static final ValueLayout.OfFloat FLOAT_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);

    /** Float species used by every kernel (512-bit on AVX-512 machines). */
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();
    /** Byte species loaded and widened to {@link #F}: L lanes, but at least 64 bits. */
    static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, L * 8)));
    static final int BL = B.length();
    /** How many float vectors one byte vector widens into. */
    static final int PARTS = BL / L;

    static {
        if (L > 16 || 16 % BL != 0) {
            throw new ExceptionInInitializerError("unsupported vector width: " + F);
        }
    }
    /** Shuffles rotating lanes by L/2, L/4, ..., 1 for {@link #hsum}. */
    private static final VectorShuffle<Float>[] HSUM_SHUFFLES = hsumShuffles();

    @SuppressWarnings("unchecked")
    private static VectorShuffle<Float>[] hsumShuffles() {
        int steps = Integer.numberOfTrailingZeros(L);
        VectorShuffle<Float>[] s = new VectorShuffle[steps];
        for (int i = 0, shift = L / 2; shift >= 1; shift /= 2, i++) {
            s[i] = VectorShuffle.iota(F, shift, 1, true);
        }
        return s;
    }

    /**
     * Horizontal float sum in a fixed pairwise order. Unlike {@code reduceLanes(ADD)}, whose order
     * differs between the interpreter and C2, this gives the same bits in every compilation tier.
     */
    static float hsum(FloatVector v) {
        for (VectorShuffle<Float> s : HSUM_SHUFFLES) {
            v = v.add(v.rearrange(s));
        }
        return v.lane(0);
    }

    static FloatVector widen(ByteVector v, int part) {
        return (FloatVector) v.convertShape(VectorOperators.B2F, F, part);
    }

    static float f16(MemorySegment s, long off) {
        return Float.float16ToFloat(s.get(SHORT_LE, off));
    }

    /**
     * 1.5 * 2^23: adding it to a float of magnitude below 2^22 rounds that float half to even (as {@code rint}) and
     * leaves the integer in the low mantissa bits, so the sum's bits minus {@link #ROUNDER_BITS} are the integer.
     */
    static final float ROUNDER = 12582912f;
    static final int ROUNDER_BITS = 0x4B400000;

    /** ggml's nearest_int: round half to even via {@link #ROUNDER} (valid for |f| <= 4194303). */
    static int nearestInt(float f) {
        float val = f + ROUNDER;
        return (Float.floatToRawIntBits(val) & 0x007fffff) - 0x00400000;
    }

    /**
     * C roundf: round half away from zero. Written with integer truncation because C2 was seen to
     * compile a floor(|v| + 0.5) formulation into round-half-even inside vectorized loops.
     */
    static float roundf(float v) {
        float a = Math.abs(v);
        if (!(a < 8388608f)) {
            return v; // already integral (or NaN)
        }
        int i = (int) a;
        if (a - i >= 0.5f) { // exact: a - trunc(a) is representable
            i++;
        }
        return Math.copySign((float) i, v);
    }

    /**
     * Float dot of w[0..n) with x[xOff..xOff+n). Uses the same accumulation order as one lane of
     * {@link #dotBatch}, so batched and single-row results are bit-identical.
     */
    static float dot(float[] w, float[] x, int xOff, int n) {
        FloatVector a0 = FloatVector.zero(F), b0 = FloatVector.zero(F);
        int i = 0;
        for (; i <= n - 2 * L; i += 2 * L) {
            a0 = FloatVector.fromArray(F, w, i).fma(FloatVector.fromArray(F, x, xOff + i), a0);
            b0 = FloatVector.fromArray(F, w, i + L).fma(FloatVector.fromArray(F, x, xOff + i + L), b0);
        }
        if (i <= n - L) {
            a0 = FloatVector.fromArray(F, w, i).fma(FloatVector.fromArray(F, x, xOff + i), a0);
            i += L;
        }
        float s = Kernels.hsum(a0.add(b0));
        for (; i < n; i++) {
            s += w[i] * x[xOff + i];
        }
        return s;
    }

    /**
     * For each b &lt; batch: out[b*rows + row] = dot(w[0..n), x[b*n ..]). Four batch rows share each
     * loaded weight vector; results equal {@link #dot} bit for bit.
     */
    static void dotBatch(float[] w, int n, float[] x, int batch, float[] out, int rows, int row) {
        int b = 0;
        for (; b + 4 <= batch; b += 4) {
            int x0 = b * n, x1 = x0 + n, x2 = x1 + n, x3 = x2 + n;
            FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
            FloatVector b0 = FloatVector.zero(F), b1 = FloatVector.zero(F), b2 = FloatVector.zero(F), b3 = FloatVector.zero(F);
            int i = 0;
            for (; i <= n - 2 * L; i += 2 * L) {
                FloatVector wv = FloatVector.fromArray(F, w, i);
                a0 = wv.fma(FloatVector.fromArray(F, x, x0 + i), a0);
                a1 = wv.fma(FloatVector.fromArray(F, x, x1 + i), a1);
                a2 = wv.fma(FloatVector.fromArray(F, x, x2 + i), a2);
                a3 = wv.fma(FloatVector.fromArray(F, x, x3 + i), a3);
                FloatVector wu = FloatVector.fromArray(F, w, i + L);
                b0 = wu.fma(FloatVector.fromArray(F, x, x0 + i + L), b0);
                b1 = wu.fma(FloatVector.fromArray(F, x, x1 + i + L), b1);
                b2 = wu.fma(FloatVector.fromArray(F, x, x2 + i + L), b2);
                b3 = wu.fma(FloatVector.fromArray(F, x, x3 + i + L), b3);
            }
            if (i <= n - L) {
                FloatVector wv = FloatVector.fromArray(F, w, i);
                a0 = wv.fma(FloatVector.fromArray(F, x, x0 + i), a0);
                a1 = wv.fma(FloatVector.fromArray(F, x, x1 + i), a1);
                a2 = wv.fma(FloatVector.fromArray(F, x, x2 + i), a2);
                a3 = wv.fma(FloatVector.fromArray(F, x, x3 + i), a3);
                i += L;
            }
            float s0 = Kernels.hsum(a0.add(b0)), s1 = Kernels.hsum(a1.add(b1));
            float s2 = Kernels.hsum(a2.add(b2)), s3 = Kernels.hsum(a3.add(b3));
            for (; i < n; i++) {
                float wi = w[i];
                s0 += wi * x[x0 + i];
                s1 += wi * x[x1 + i];
                s2 += wi * x[x2 + i];
                s3 += wi * x[x3 + i];
            }
            out[b * rows + row] = s0;
            out[(b + 1) * rows + row] = s1;
            out[(b + 2) * rows + row] = s2;
            out[(b + 3) * rows + row] = s3;
        }
        for (; b < batch; b++) {
            out[b * rows + row] = dot(w, x, b * n, n);
        }
    }
}
