package io.splitstream.engine.model;

/**
 * Rotary position embedding. Angles follow ggml: theta_i = pos · base^(-2i/d) (divided by the Llama-3.1
 * {@code rope_freqs} factor when present), with the power built by repeated float multiplication as ggml does, so
 * long positions round the same way.
 */
final class Rope {
    private final int headDim;
    private final int ropeDims;
    private final Architecture.RopeStyle style;
    private final float thetaScale;
    private final float[] factors;

    Rope(ModelConfig c, float[] factors) {
        this.headDim = c.headDim();
        this.ropeDims = c.ropeDims();
        this.style = c.architecture().ropeStyle();
        this.thetaScale = (float) Math.pow(c.ropeBase(), -2.0 / ropeDims);
        this.factors = factors;
    }

    void rotate(float[] x, int offset, int heads, int position) {
        int half = ropeDims / 2;
        float theta = position;
        for (int i = 0; i < half; i++) {
            float angle = factors == null ? theta : theta / factors[i];
            float cos = (float) Math.cos(angle);
            float sin = (float) Math.sin(angle);
            for (int h = 0; h < heads; h++) {
                int base = offset + h * headDim;
                int a = style == Architecture.RopeStyle.ADJACENT_PAIRS ? base + 2 * i : base + i;
                int b = style == Architecture.RopeStyle.ADJACENT_PAIRS ? a + 1 : base + i + half;
                float x0 = x[a];
                float x1 = x[b];
                x[a] = x0 * cos - x1 * sin;
                x[b] = x0 * sin + x1 * cos;
            }
            theta *= thetaScale;
        }
    }
}
