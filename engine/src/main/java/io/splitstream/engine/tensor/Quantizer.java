package io.splitstream.engine.tensor;

import static io.splitstream.engine.tensor.Kernels.nearestInt;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Row quantizers that reproduce ggml's reference (no importance matrix) quantizers bit for bit:
 * quantize_row_q8_0_ref, quantize_row_q4_0_ref, quantize_row_q4_K_ref (make_qkx2_quants) and
 * quantize_row_q6_K_ref (make_qx_quants), plus F32, F16 (round to nearest even) and BF16 (ggml's
 * rounding, NaN quieted). Float expressions follow the C source's evaluation order without FMA
 * contraction.
 */
public final class Quantizer {
    private Quantizer() {
    }

    private static final float GROUP_MAX_EPS = 1e-15f;

    /**
     * Quantizes {@code count} floats from {@code src[srcOffset..]} into {@code type}'s encoding at
     * {@code dst[dstOffset..]} ({@code type.bytesFor(count)} bytes).
     *
     * @throws IllegalArgumentException if count is not a multiple of the block size
     */
    public static void quantizeRow(GgmlType type, float[] src, int srcOffset, int count, MemorySegment dst, long dstOffset) {
        long bytes = type.bytesFor(count);
        if (srcOffset < 0 || srcOffset + count > src.length) {
            throw new IndexOutOfBoundsException("src range " + srcOffset + "+" + count + " of " + src.length);
        }
        if (dstOffset < 0 || dstOffset + bytes > dst.byteSize()) {
            throw new IndexOutOfBoundsException("dst range " + dstOffset + "+" + bytes + " of " + dst.byteSize());
        }
        switch (type) {
            case F32 -> MemorySegment.copy(src, srcOffset, dst, Kernels.FLOAT_LE, dstOffset, count);
            case F16 -> {
                for (int i = 0; i < count; i++) {
                    dst.set(Kernels.SHORT_LE, dstOffset + 2L * i, Float.floatToFloat16(src[srcOffset + i]));
                }
            }
            case BF16 -> {
                for (int i = 0; i < count; i++) {
                    dst.set(Kernels.SHORT_LE, dstOffset + 2L * i, toBf16(src[srcOffset + i]));
                }
            }
            case Q8_0 -> quantizeQ8_0(src, srcOffset, count, dst, dstOffset);
            case Q4_0 -> quantizeQ4_0(src, srcOffset, count, dst, dstOffset);
            case Q4_K -> quantizeQ4_K(src, srcOffset, count, dst, dstOffset);
            case Q6_K -> quantizeQ6_K(src, srcOffset, count, dst, dstOffset);
        }
    }

    /** ggml_compute_fp32_to_bf16. */
    static short toBf16(float f) {
        int u = Float.floatToRawIntBits(f);
        if ((u & 0x7fffffff) > 0x7f800000) {
            return (short) ((u >>> 16) | 64);
        }
        return (short) ((u + (0x7fff + ((u >>> 16) & 1))) >>> 16);
    }

    private static short fp16(float f) {
        return Float.floatToFloat16(f);
    }

    private static float fromFp16(short h) {
        return Float.float16ToFloat(h);
    }

    private static void put(MemorySegment s, long off, int b) {
        s.set(ValueLayout.JAVA_BYTE, off, (byte) b);
    }

    private static void quantizeQ8_0(float[] x, int xo, int k, MemorySegment y, long yo) {
        int nb = k / 32;
        for (int i = 0; i < nb; i++) {
            int o = xo + i * 32;
            long bo = yo + 34L * i;
            float amax = 0.0f;
            for (int j = 0; j < 32; j++) {
                float v = Math.abs(x[o + j]);
                amax = amax > v ? amax : v;
            }
            float d = amax / ((1 << 7) - 1);
            float id = d != 0f ? 1.0f / d : 0.0f;
            y.set(Kernels.SHORT_LE, bo, fp16(d));
            for (int j = 0; j < 32; j++) {
                put(y, bo + 2 + j, (int) Kernels.roundf(x[o + j] * id));
            }
        }
    }

    private static void quantizeQ4_0(float[] x, int xo, int k, MemorySegment y, long yo) {
        int nb = k / 32;
        for (int i = 0; i < nb; i++) {
            int o = xo + i * 32;
            long bo = yo + 18L * i;
            float amax = 0.0f;
            float max = 0.0f;
            for (int j = 0; j < 32; j++) {
                float v = x[o + j];
                if (amax < Math.abs(v)) {
                    amax = Math.abs(v);
                    max = v;
                }
            }
            float d = max / -8;
            float id = d != 0f ? 1.0f / d : 0.0f;
            y.set(Kernels.SHORT_LE, bo, fp16(d));
            for (int j = 0; j < 16; j++) {
                float x0 = x[o + j] * id;
                float x1 = x[o + 16 + j] * id;
                int xi0 = Math.min(15, (byte) (int) (x0 + 8.5f));
                int xi1 = Math.min(15, (byte) (int) (x1 + 8.5f));
                put(y, bo + 2 + j, (xi0 & 0xFF) | ((xi1 & 0xFF) << 4));
            }
        }
    }

    /** ggml's make_qkx2_quants; returns the scale, the_min[0] receives -min. */
    static float makeQkx2Quants(int n, int nmax, float[] x, int xo, float[] weights, byte[] L, int lo,
                                float[] theMin, byte[] Laux, float rmin, float rdelta, int nstep, boolean useMad) {
        float min = x[xo];
        float max = x[xo];
        float sumW = weights[0];
        float sumX = sumW * x[xo];
        for (int i = 1; i < n; ++i) {
            if (x[xo + i] < min) min = x[xo + i];
            if (x[xo + i] > max) max = x[xo + i];
            float w = weights[i];
            sumW += w;
            sumX += w * x[xo + i];
        }
        if (min > 0) min = 0;
        if (max == min) {
            for (int i = 0; i < n; ++i) L[lo + i] = 0;
            theMin[0] = -min;
            return 0.f;
        }
        float iscale = nmax / (max - min);
        float scale = 1 / iscale;
        float bestError = 0;
        for (int i = 0; i < n; ++i) {
            int l = nearestInt(iscale * (x[xo + i] - min));
            L[lo + i] = (byte) Math.max(0, Math.min(nmax, l));
            float diff = scale * (L[lo + i] & 0xFF) + min - x[xo + i];
            diff = useMad ? Math.abs(diff) : diff * diff;
            float w = weights[i];
            bestError += w * diff;
        }
        if (nstep < 1) {
            theMin[0] = -min;
            return scale;
        }
        for (int is = 0; is <= nstep; ++is) {
            iscale = (rmin + rdelta * is + nmax) / (max - min);
            float sumL = 0, sumL2 = 0, sumXl = 0;
            for (int i = 0; i < n; ++i) {
                int l = nearestInt(iscale * (x[xo + i] - min));
                l = Math.max(0, Math.min(nmax, l));
                Laux[i] = (byte) l;
                float w = weights[i];
                sumL += w * l;
                sumL2 += w * l * l;
                sumXl += w * l * x[xo + i];
            }
            float D = sumW * sumL2 - sumL * sumL;
            if (D > 0) {
                float thisScale = (sumW * sumXl - sumX * sumL) / D;
                float thisMin = (sumL2 * sumX - sumL * sumXl) / D;
                if (thisMin > 0) {
                    thisMin = 0;
                    thisScale = sumXl / sumL2;
                }
                float mad = 0;
                for (int i = 0; i < n; ++i) {
                    float diff = thisScale * (Laux[i] & 0xFF) + thisMin - x[xo + i];
                    diff = useMad ? Math.abs(diff) : diff * diff;
                    float w = weights[i];
                    mad += w * diff;
                }
                if (mad < bestError) {
                    for (int i = 0; i < n; ++i) {
                        L[lo + i] = Laux[i];
                    }
                    bestError = mad;
                    scale = thisScale;
                    min = thisMin;
                }
            }
        }
        theMin[0] = -min;
        return scale;
    }

    private static void quantizeQ4_K(float[] xArr, int xo, int k, MemorySegment y, long yo) {
        int nb = k / 256;
        byte[] L = new byte[256];
        byte[] Laux = new byte[32];
        float[] weights = new float[32];
        float[] mins = new float[8];
        float[] scales = new float[8];
        float[] theMin = new float[1];
        byte[] sc = new byte[12];
        for (int i = 0; i < nb; i++) {
            int x = xo + i * 256;
            long bo = yo + 144L * i;
            float maxScale = 0;
            float maxMin = 0;
            for (int j = 0; j < 8; ++j) {
                float sumX2 = 0;
                for (int l = 0; l < 32; ++l) sumX2 += xArr[x + 32 * j + l] * xArr[x + 32 * j + l];
                float avX = (float) Math.sqrt(sumX2 / 32);
                for (int l = 0; l < 32; ++l) weights[l] = avX + Math.abs(xArr[x + 32 * j + l]);
                scales[j] = makeQkx2Quants(32, 15, xArr, x + 32 * j, weights, L, 32 * j, theMin, Laux, -1.f, 0.1f, 20, false);
                mins[j] = theMin[0];
                float scale = scales[j];
                if (scale > maxScale) maxScale = scale;
                float min = mins[j];
                if (min > maxMin) maxMin = min;
            }
            float invScale = maxScale > 0 ? 63.f / maxScale : 0.f;
            float invMin = maxMin > 0 ? 63.f / maxMin : 0.f;
            java.util.Arrays.fill(sc, (byte) 0);
            for (int j = 0; j < 8; ++j) {
                int ls = nearestInt(invScale * scales[j]) & 0xFF;
                int lm = nearestInt(invMin * mins[j]) & 0xFF;
                ls = Math.min(63, ls);
                lm = Math.min(63, lm);
                if (j < 4) {
                    sc[j] = (byte) ls;
                    sc[j + 4] = (byte) lm;
                } else {
                    sc[j + 4] = (byte) ((ls & 0xF) | ((lm & 0xF) << 4));
                    sc[j - 4] |= (byte) ((ls >> 4) << 6);
                    sc[j] |= (byte) ((lm >> 4) << 6);
                }
            }
            short dBits = fp16(maxScale / 63.f);
            short dminBits = fp16(maxMin / 63.f);
            y.set(Kernels.SHORT_LE, bo, dBits);
            y.set(Kernels.SHORT_LE, bo + 2, dminBits);
            MemorySegment.copy(sc, 0, y, ValueLayout.JAVA_BYTE, bo + 4, 12);
            for (int j = 0; j < 8; ++j) {
                int smv = scaleMinK4(j, sc);
                float d = fromFp16(dBits) * (smv >> 8);
                if (d == 0f) continue;
                float dm = fromFp16(dminBits) * (smv & 0xFF);
                for (int ii = 0; ii < 32; ++ii) {
                    int l = nearestInt((xArr[x + 32 * j + ii] + dm) / d);
                    l = Math.max(0, Math.min(15, l));
                    L[32 * j + ii] = (byte) l;
                }
            }
            long q = bo + 16;
            for (int j = 0; j < 256; j += 64) {
                for (int l = 0; l < 32; ++l) put(y, q + l, (L[j + l] & 0xFF) | ((L[j + l + 32] & 0xFF) << 4));
                q += 32;
            }
        }
    }

    private static int scaleMinK4(int j, byte[] q) {
        int d;
        int m;
        if (j < 4) {
            d = q[j] & 63;
            m = q[j + 4] & 63;
        } else {
            d = (q[j + 4] & 0xF) | (((q[j - 4] & 0xFF) >> 6) << 4);
            m = ((q[j + 4] & 0xFF) >> 4) | (((q[j] & 0xFF) >> 6) << 4);
        }
        return (d << 8) | m;
    }

    /** ggml's make_qx_quants with qw == NULL; L receives values in [0, 2*nmax). */
    static float makeQxQuants(int n, int nmax, float[] x, int xo, byte[] L, int lo, int rmseType) {
        float max = 0;
        float amax = 0;
        for (int i = 0; i < n; ++i) {
            float ax = Math.abs(x[xo + i]);
            if (ax > amax) {
                amax = ax;
                max = x[xo + i];
            }
        }
        if (amax < GROUP_MAX_EPS) {
            for (int i = 0; i < n; ++i) L[lo + i] = 0;
            return 0.f;
        }
        float iscale = -nmax / max;
        if (rmseType == 0) {
            for (int i = 0; i < n; ++i) {
                int l = nearestInt(iscale * x[xo + i]);
                L[lo + i] = (byte) (nmax + Math.max(-nmax, Math.min(nmax - 1, l)));
            }
            return 1 / iscale;
        }
        boolean returnEarly = false;
        if (rmseType < 0) {
            rmseType = -rmseType;
            returnEarly = true;
        }
        float sumlx = 0;
        float suml2 = 0;
        for (int i = 0; i < n; ++i) {
            int l = nearestInt(iscale * x[xo + i]);
            l = Math.max(-nmax, Math.min(nmax - 1, l));
            L[lo + i] = (byte) (l + nmax);
            float w = qxWeight(x[xo + i], rmseType);
            sumlx += w * x[xo + i] * l;
            suml2 += w * l * l;
        }
        float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
        if (returnEarly) return suml2 > 0 ? 0.5f * (scale + 1 / iscale) : 1 / iscale;
        float best = scale * sumlx;
        for (int is = -9; is <= 9; ++is) {
            if (is == 0) continue;
            iscale = -(nmax + 0.1f * is) / max;
            sumlx = suml2 = 0;
            for (int i = 0; i < n; ++i) {
                int l = nearestInt(iscale * x[xo + i]);
                l = Math.max(-nmax, Math.min(nmax - 1, l));
                float w = qxWeight(x[xo + i], rmseType);
                sumlx += w * x[xo + i] * l;
                suml2 += w * l * l;
            }
            if (suml2 > 0 && sumlx * sumlx > best * suml2) {
                for (int i = 0; i < n; ++i) {
                    int l = nearestInt(iscale * x[xo + i]);
                    L[lo + i] = (byte) (nmax + Math.max(-nmax, Math.min(nmax - 1, l)));
                }
                scale = sumlx / suml2;
                best = scale * sumlx;
            }
        }
        return scale;
    }

    private static float qxWeight(float x, int rmseType) {
        return rmseType == 1 ? x * x : rmseType == 2 ? 1 : rmseType == 3 ? Math.abs(x) : (float) Math.sqrt(Math.abs(x));
    }

    private static void quantizeQ6_K(float[] xArr, int xo, int k, MemorySegment y, long yo) {
        int nb = k / 256;
        byte[] L = new byte[256];
        float[] scales = new float[16];
        byte[] sc = new byte[16];
        for (int i = 0; i < nb; i++) {
            int x = xo + i * 256;
            long bo = yo + 210L * i;
            float maxScale = 0;
            float maxAbsScale = 0;
            for (int ib = 0; ib < 16; ++ib) {
                float scale = makeQxQuants(16, 32, xArr, x + 16 * ib, L, 16 * ib, 1);
                scales[ib] = scale;
                float absScale = Math.abs(scale);
                if (absScale > maxAbsScale) {
                    maxAbsScale = absScale;
                    maxScale = scale;
                }
            }
            if (maxAbsScale < GROUP_MAX_EPS) {
                y.asSlice(bo, 210).fill((byte) 0);
                continue;
            }
            float iscale = -128.f / maxScale;
            short dBits = fp16(1 / iscale);
            y.set(Kernels.SHORT_LE, bo + 208, dBits);
            for (int ib = 0; ib < 16; ++ib) {
                sc[ib] = (byte) Math.min(127, nearestInt(iscale * scales[ib]));
            }
            MemorySegment.copy(sc, 0, y, ValueLayout.JAVA_BYTE, bo + 192, 16);
            for (int j = 0; j < 16; ++j) {
                float d = fromFp16(dBits) * sc[j];
                if (d == 0f) continue;
                for (int ii = 0; ii < 16; ++ii) {
                    int l = nearestInt(xArr[x + 16 * j + ii] / d);
                    l = Math.max(-32, Math.min(31, l));
                    L[16 * j + ii] = (byte) (l + 32);
                }
            }
            long ql = bo;
            long qh = bo + 128;
            for (int j = 0; j < 256; j += 128) {
                for (int l = 0; l < 32; ++l) {
                    int q1 = L[j + l] & 0xF;
                    int q2 = L[j + l + 32] & 0xF;
                    int q3 = L[j + l + 64] & 0xF;
                    int q4 = L[j + l + 96] & 0xF;
                    put(y, ql + l, q1 | (q3 << 4));
                    put(y, ql + l + 32, q2 | (q4 << 4));
                    put(y, qh + l, ((L[j + l] & 0xFF) >> 4) | (((L[j + l + 32] & 0xFF) >> 4) << 2)
                            | (((L[j + l + 64] & 0xFF) >> 4) << 4) | (((L[j + l + 96] & 0xFF) >> 4) << 6));
                }
                ql += 64;
                qh += 32;
            }
        }
    }
}
