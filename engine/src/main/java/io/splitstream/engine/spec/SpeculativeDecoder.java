package io.splitstream.engine.spec;

import io.splitstream.engine.kv.KvCache;
import io.splitstream.engine.kv.KvPrecision;
import io.splitstream.engine.model.Batch;
import io.splitstream.engine.model.LayerListener;
import io.splitstream.engine.model.Transformer;
import io.splitstream.engine.sampling.Sampler;
import java.util.Arrays;

/**
 * Single-sequence speculative generation on a {@link Transformer}, for benchmarks, tests and the CLI. Each step
 * is one forward over the root row (the last accepted token, at position {@code base}) plus the draft tree's
 * rows (at {@code base + depth}, tree-masked), then verification, then {@link KvCache#retain} keeps the root and
 * the accepted path so the cache reads as if those tokens had been decoded one by one.
 *
 * <p>The prompt's last token is not prefilled: it is the first step's root, so drafting starts at once and the
 * first generated token comes from the same kind of row as every other. The sampler is used as is (accept
 * prompt tokens into it beforehand if penalties should see them).
 */
public final class SpeculativeDecoder {

    /**
     * @param kvPrecision          precision of the decoder's own KV cache
     * @param stopAtEndOfGeneration stop after emitting an end-of-generation token (golden data does not)
     * @param maxTreeNodes         draft nodes per step at most, whatever the drafter asks
     */
    public record Options(KvPrecision kvPrecision, boolean stopAtEndOfGeneration, int maxTreeNodes) {
        public static Options defaults() {
            return new Options(KvPrecision.F32, false, 256);
        }
    }

    /**
     * Figures of one generation.
     *
     * @param steps               forward passes after the prefill (one per emitted token when plain)
     * @param generatedTokens     tokens returned
     * @param draftNodes          draft rows verified in all
     * @param acceptedDraftTokens draft tokens accepted in all
     * @param prefillSeconds      prompt forward time
     * @param decodeSeconds       time of the steps (drafting, forward, verification, cache and drafter upkeep)
     */
    public record Stats(int steps, int generatedTokens, long draftNodes, long acceptedDraftTokens,
                        double prefillSeconds, double decodeSeconds) {
        /** Tokens emitted per forward pass (1 for plain decoding). */
        public double meanAcceptedTokensPerStep() {
            return steps == 0 ? 0 : (double) generatedTokens / steps;
        }

        /** Accepted draft tokens / draft rows verified: how much of the tree's compute paid off. */
        public double acceptanceRate() {
            return draftNodes == 0 ? 0 : (double) acceptedDraftTokens / draftNodes;
        }

        public double meanDraftNodesPerStep() {
            return steps == 0 ? 0 : (double) draftNodes / steps;
        }

        public double tokensPerSecond() {
            return decodeSeconds <= 0 ? 0 : generatedTokens / decodeSeconds;
        }

        @Override
        public String toString() {
            return String.format(java.util.Locale.ROOT,
                    "%d tokens in %d steps: %.2f tokens/step, %.1f draft nodes/step, acceptance %.3f, %.1f tokens/s",
                    generatedTokens, steps, meanAcceptedTokensPerStep(), meanDraftNodesPerStep(), acceptanceRate(),
                    tokensPerSecond());
        }
    }

    public record Result(int[] tokens, Stats stats) {
    }

    private final Transformer transformer;
    private final Options options;
    private final Verifier verifier;

    public SpeculativeDecoder(Transformer transformer) {
        this(transformer, Options.defaults(), new TreeVerifier());
    }

    public SpeculativeDecoder(Transformer transformer, Options options, Verifier verifier) {
        this.transformer = transformer;
        this.options = options;
        this.verifier = verifier;
    }

    /** Generates up to {@code maxTokens} tokens after {@code prompt} speculatively with {@code drafter}. */
    public Result generate(int[] prompt, int maxTokens, Sampler sampler, Drafter drafter) {
        checkPrompt(prompt, maxTokens);
        int context = transformer.model().config().contextLength();
        KvCache cache = transformer.model().newKvCache(options.kvPrecision(),
                Math.min(context, prompt.length + maxTokens) + options.maxTreeNodes() + 2);
        int seq = cache.newSequence();
        long start = System.nanoTime();
        if (prompt.length > 1) {
            transformer.forward(Batch.chunk(seq, 0, Arrays.copyOf(prompt, prompt.length - 1), false), cache,
                    LayerListener.NONE);
        }
        long decodeStart = System.nanoTime();
        int[] history = Arrays.copyOf(prompt, prompt.length + maxTokens + 1);
        int length = prompt.length;
        SpeculativeSequence speculative = new SpeculativeSequence(seq, drafter, verifier, SpeculationMode.HYBRID,
                history, length);
        int[] out = new int[maxTokens];
        int generated = 0;
        int base = prompt.length - 1;
        boolean stopped = false;
        while (generated < maxTokens && !stopped && base < context) {
            Batch.Builder b = new Batch.Builder();
            speculative.addRows(b, base, history, length, Math.min(options.maxTreeNodes(), context - base - 1));
            float[][] logits = transformer.forward(b.build(), cache, LayerListener.NONE);
            Verification v = speculative.verify(logits, cache, sampler);
            base += v.acceptedDraftTokens() + 1;
            for (int t : v.emitted()) {
                if (generated == maxTokens) {
                    break;
                }
                out[generated++] = t;
                history[length++] = t;
                if (options.stopAtEndOfGeneration() && transformer.model().tokenizer().isEndOfGeneration(t)) {
                    stopped = true;
                    break;
                }
            }
        }
        SpeculationStats figures = speculative.stats();
        int steps = (int) figures.steps();
        long draftNodes = figures.drafted();
        long accepted = figures.accepted();
        long end = System.nanoTime();
        return new Result(Arrays.copyOf(out, generated),
                new Stats(steps, generated, draftNodes, accepted, (decodeStart - start) / 1e9, (end - decodeStart) / 1e9));
    }

    /**
     * Plain decoding (one token per forward) with the same prefill, for comparisons: the whole prompt in one
     * chunk, then one row per step. Its step count is the token count (the first token comes from the prefill's
     * logits, so its decode time covers one forward fewer).
     */
    public Result generatePlain(int[] prompt, int maxTokens, Sampler sampler) {
        checkPrompt(prompt, maxTokens);
        int context = transformer.model().config().contextLength();
        KvCache cache = transformer.model().newKvCache(options.kvPrecision(), Math.min(context, prompt.length + maxTokens) + 2);
        int seq = cache.newSequence();
        long start = System.nanoTime();
        float[] logits = transformer.forward(Batch.chunk(seq, 0, prompt, true), cache, LayerListener.NONE)[prompt.length - 1];
        long decodeStart = System.nanoTime();
        int[] out = new int[maxTokens];
        int generated = 0;
        int position = prompt.length;
        while (true) {
            int t = sampler.sample(logits);
            sampler.accept(t);
            out[generated++] = t;
            if (generated == maxTokens || position >= context
                    || (options.stopAtEndOfGeneration() && transformer.model().tokenizer().isEndOfGeneration(t))) {
                break;
            }
            logits = transformer.forward(Batch.chunk(seq, position++, new int[] {t}, true), cache, LayerListener.NONE)[0];
        }
        long end = System.nanoTime();
        return new Result(Arrays.copyOf(out, generated),
                new Stats(generated, generated, 0, 0, (decodeStart - start) / 1e9, (end - decodeStart) / 1e9));
    }

    private static void checkPrompt(int[] prompt, int maxTokens) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("the prompt must hold at least one token");
        }
        if (maxTokens < 1) {
            throw new IllegalArgumentException("maxTokens must be >= 1, got " + maxTokens);
        }
    }
}
