package io.splitstream.engine.spec;

/**
 * One sequence's speculation figures.
 *
 * @param mode     the mode the request ran in ({@link SpeculationMode#OFF} when it did not speculate)
 * @param steps    decode steps (forward passes the sequence had a root row in; prompt chunks not counted)
 * @param drafted  draft nodes verified in all
 * @param accepted draft tokens accepted in all
 * @param emitted  tokens those steps emitted (accepted drafts plus one correction or bonus token per step)
 */
public record SpeculationStats(SpeculationMode mode, long steps, long drafted, long accepted, long emitted) {
    public static final SpeculationStats NONE = new SpeculationStats(SpeculationMode.OFF, 0, 0, 0, 0);

    /** Tokens emitted per decode step: 1 for plain decoding, 1 + accepted drafts per step when speculating. */
    public double meanAcceptedPerStep() {
        return steps == 0 ? 0 : (double) emitted / steps;
    }

    /** Accepted draft tokens / draft nodes verified. */
    public double acceptanceRate() {
        return drafted == 0 ? 0 : (double) accepted / drafted;
    }

    @Override
    public String toString() {
        return String.format(java.util.Locale.ROOT, "%s: %d steps, %d drafted, %d accepted, %.2f tokens/step",
                mode.apiName(), steps, drafted, accepted, meanAcceptedPerStep());
    }
}
