package io.splitstream.engine.kv;

/** Not enough free KV blocks for a request; nothing was allocated. */
public final class KvCacheFullException extends RuntimeException {
    public KvCacheFullException(int neededBlocks, int freeBlocks) {
        super("KV cache full: need " + neededBlocks + " more blocks, " + freeBlocks + " free");
    }
}
