package io.splitstream.engine.generate;

import io.splitstream.engine.spec.SpeculationStats;

/**
 * Receives a generation's output on the engine thread; implementations must hand off quickly (services push
 * into a bounded Mutiny emitter).
 */
public interface GenerationListener {

    /** One sampled token and the text it completes (possibly empty while a UTF-8 character or stop string is pending). */
    void onToken(int token, String text);

    /** Exactly once, last. */
    void onFinish(Finish finish);

    /**
     * @param trailingText text held back until the end (an incomplete character, a partial stop string)
     * @param error        null unless reason is ERROR
     * @param steps        forward steps of the batcher this sequence had rows in (prompt chunks and decode steps)
     * @param speculation  the decode steps' speculation figures (mode {@code off} with one token per step when the
     *                     sequence decoded plainly)
     */
    record Finish(FinishReason reason, String trailingText, int promptTokens, int completionTokens, Timings timings,
                  String error, int steps, SpeculationStats speculation) {
        public Finish {
            if (speculation == null) {
                speculation = SpeculationStats.NONE;
            }
        }

        public Finish(FinishReason reason, String trailingText, int promptTokens, int completionTokens, Timings timings,
                      String error, int steps) {
            this(reason, trailingText, promptTokens, completionTokens, timings, error, steps, SpeculationStats.NONE);
        }
    }
}
