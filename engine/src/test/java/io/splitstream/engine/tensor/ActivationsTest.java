package io.splitstream.engine.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

class ActivationsTest {

    @Test
    void expIsWithinOneUlpOverItsRange() {
        SplittableRandom random = new SplittableRandom(7);
        for (int i = 0; i < 2_000_000; i++) {
            float x = (float) random.nextDouble(-87.3, 88.0);
            double exact = Math.exp(x);
            float got = Activations.exp(x);
            assertTrue(Math.abs(got - exact) <= Math.ulp((float) exact), () -> "exp(" + x + ") = " + got + ", exact " + exact);
        }
    }

    @Test
    void vectorAndScalarExpGiveTheSameBits() {
        SplittableRandom random = new SplittableRandom(8);
        float[] x = new float[Kernels.L];
        for (int i = 0; i < 100_000; i++) {
            for (int j = 0; j < x.length; j++) {
                x[j] = (float) random.nextDouble(-120, 120);
            }
            FloatVector v = Activations.exp(FloatVector.fromArray(Kernels.F, x, 0));
            for (int j = 0; j < x.length; j++) {
                assertEquals(Float.floatToIntBits(Activations.exp(x[j])), Float.floatToIntBits(v.lane(j)), "exp(" + x[j] + ")");
            }
        }
    }

    @Test
    void swigluMatchesItsDefinitionAndSaturates() {
        SplittableRandom random = new SplittableRandom(9);
        int n = 1000; // not a multiple of the vector length: the scalar tail runs too
        float[] gate = new float[n];
        float[] up = new float[n];
        for (int i = 0; i < n; i++) {
            gate[i] = (float) random.nextDouble(-30, 30);
            up[i] = (float) random.nextDouble(-3, 3);
        }
        gate[0] = -1000f;
        gate[1] = 1000f;
        gate[2] = Float.NaN;
        float[] expected = new float[n];
        for (int i = 0; i < n; i++) {
            expected[i] = (float) (gate[i] / (1 + Math.exp(-gate[i])) * up[i]);
        }
        float[] shifted = gate.clone();
        Activations.swiglu(gate, up, 0, n);
        Activations.swiglu(shifted, up, 0, 1); // element 0 alone, then the rest from an unaligned start
        Activations.swiglu(shifted, up, 1, n);
        assertEquals(0f, gate[0], 1e-30f);
        assertEquals(1000f * up[1], gate[1], 0f);
        assertTrue(Float.isNaN(gate[2]));
        for (int i = 3; i < n; i++) {
            assertEquals(expected[i], gate[i], 4 * Math.ulp(expected[i]) + 1e-30f, "element " + i);
            assertEquals(Float.floatToIntBits(gate[i]), Float.floatToIntBits(shifted[i]), "element " + i + " depends on its position");
        }
    }

    @Test
    void expShiftedGivesSoftmaxNumeratorsAndTheirSum() {
        float[] x = new float[37];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) Math.sin(i) * 20;
        }
        float max = 19.99f;
        float[] expected = new float[x.length];
        double expectedSum = 0;
        for (int i = 0; i < x.length; i++) {
            expected[i] = (float) Math.exp(x[i] - max);
            expectedSum += Activations.exp(x[i] - max);
        }
        double sum = Activations.expShifted(x, x.length, max);
        assertEquals(expectedSum, sum, 0.0);
        for (int i = 0; i < x.length; i++) {
            assertEquals(expected[i], x[i], Math.ulp(expected[i]), "element " + i);
        }
    }
}
