package io.splitstream.service;

/** A KV chunk whose payload does not match its checksum: corrupted in transit. */
public final class KvChecksumException extends RuntimeException {
    public KvChecksumException(String message) {
        super(message);
    }
}
