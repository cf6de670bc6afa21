package io.splitstream.engine.sampling;

/**
 * The last {@code penaltyWindow} accepted tokens and how often each occurs among them, applied as
 * llama.cpp's penalties sampler does.
 */
final class PenaltyWindow {

    private final float repetitionPenalty;
    private final float presencePenalty;
    private final float frequencyPenalty;
    private final int[] recent;
    private final int[] occurrences;
    private int oldest;
    private int size;

    PenaltyWindow(SamplingParams params, int vocabularySize) {
        this.repetitionPenalty = params.repetitionPenalty();
        this.presencePenalty = params.presencePenalty();
        this.frequencyPenalty = params.frequencyPenalty();
        this.recent = new int[params.penaltyWindow()];
        this.occurrences = new int[vocabularySize];
    }

    void accept(int token) {
        if (size == recent.length) {
            occurrences[recent[oldest]]--;
            recent[oldest] = token;
            oldest = (oldest + 1) % recent.length;
        } else {
            recent[(oldest + size) % recent.length] = token;
            size++;
        }
        occurrences[token]++;
    }

    float apply(float logit, int token) {
        int count = occurrences[token];
        if (count == 0) {
            return logit;
        }
        // Dividing a negative logit would raise its probability, hence llama.cpp's sign split.
        float repeated = logit <= 0f ? logit * repetitionPenalty : logit / repetitionPenalty;
        return repeated - count * frequencyPenalty - presencePenalty;
    }
}
