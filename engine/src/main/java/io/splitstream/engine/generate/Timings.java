package io.splitstream.engine.generate;

/** Milliseconds spent in each phase of one generation. */
public record Timings(double queueMs, double prefillMs, double timeToFirstTokenMs, double decodeMs) {
}
