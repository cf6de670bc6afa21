package io.splitstream.engine.tensor;

import static io.splitstream.engine.tensor.Kernels.F;
import static io.splitstream.engine.tensor.Kernels.L;
import static io.splitstream.engine.tensor.Kernels.ROUNDER;
import static io.splitstream.engine.tensor.Kernels.ROUNDER_BITS;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Element-wise activations, vectorized. SwiGLU needs an exponential per FFN element (8192 per token on a 1B
 * model), and neither {@code Math.exp} (scalar, in double) nor the Vector API's {@code EXP} (not intrinsified
 * on this JDK: it falls back to a scalar call per lane) is fast enough: a 64-token prompt spent 12% of its time
 * in them. {@link #exp} is Cephes' expf as ggml's vectorized SiLU uses it: n = round(x log2 e), r = x - n ln 2
 * in two parts, a degree-5 polynomial for e^r, times 2^n; within 1 ulp of the exact value over the clamped
 * range. The same operations, in the same order, run for the vector body and the scalar tail, so a value's
 * result does not depend on where it sits.
 */
public final class Activations {
    private Activations() {
    }

    /** Beyond these, e^x is infinite or subnormal in float; SiLU is 0 or x there anyway. */
    private static final float EXP_HI = 88.0f;
    private static final float EXP_LO = -87.3f;
    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    private static final float P0 = 1.9875691500e-4f;
    private static final float P1 = 1.3981999507e-3f;
    private static final float P2 = 8.3334519073e-3f;
    private static final float P3 = 4.1665795894e-2f;
    private static final float P4 = 1.6666665459e-1f;
    private static final float P5 = 5.0000001201e-1f;

    /** {@code gate[i] = silu(gate[i]) * up[i]} for i in [from, to), where silu(g) = g / (1 + e^-g). */
    public static void swiglu(float[] gate, float[] up, int from, int to) {
        int i = from;
        for (; i <= to - L; i += L) {
            FloatVector g = FloatVector.fromArray(F, gate, i);
            g.div(exp(g.neg()).add(1f)).mul(FloatVector.fromArray(F, up, i)).intoArray(gate, i);
        }
        for (; i < to; i++) {
            float g = gate[i];
            gate[i] = g / (exp(-g) + 1f) * up[i];
        }
    }

    /**
     * The softmax numerators: {@code x[i] = e^(x[i] - max)} for i &lt; n; returns their sum, added in index order
     * in double as llama.cpp's softmax does.
     */
    public static double expShifted(float[] x, int n, float max) {
        int i = 0;
        for (; i <= n - L; i += L) {
            exp(FloatVector.fromArray(F, x, i).sub(max)).intoArray(x, i);
        }
        for (; i < n; i++) {
            x[i] = exp(x[i] - max);
        }
        double sum = 0;
        for (int j = 0; j < n; j++) {
            sum += x[j];
        }
        return sum;
    }

    static FloatVector exp(FloatVector v) {
        FloatVector x = v.min(EXP_HI).max(EXP_LO);
        FloatVector t = x.mul(LOG2E).add(ROUNDER);
        FloatVector n = t.sub(ROUNDER);
        IntVector scale = ((IntVector) t.convert(VectorOperators.REINTERPRET_F2I, 0)).sub(ROUNDER_BITS - 127)
                .lanewise(VectorOperators.LSHL, 23);
        FloatVector r = x.sub(n.mul(LN2_HI)).sub(n.mul(LN2_LO));
        FloatVector p = r.mul(P0).add(P1).mul(r).add(P2).mul(r).add(P3).mul(r).add(P4).mul(r).add(P5);
        FloatVector e = p.mul(r.mul(r)).add(r).add(1f);
        return e.mul((FloatVector) scale.convert(VectorOperators.REINTERPRET_I2F, 0));
    }

    /** {@link #exp(FloatVector)} for one value: the same operations in the same order. */
    static float exp(float v) {
        float x = Math.max(Math.min(v, EXP_HI), EXP_LO);
        float t = x * LOG2E + ROUNDER;
        float n = t - ROUNDER;
        float scale = Float.intBitsToFloat((Float.floatToRawIntBits(t) - (ROUNDER_BITS - 127)) << 23);
        float r = x - n * LN2_HI - n * LN2_LO;
        float p = ((((r * P0 + P1) * r + P2) * r + P3) * r + P4) * r + P5;
        float e = p * (r * r) + r + 1f;
        return e * scale;
    }
}
