package io.splitstream.engine.tensor;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * Large zero-filled off-heap buffers (repacked weights). {@code Arena.allocate} zero-fills with memset, so
 * every 4 KiB page faults in right away: 2.2 s for 780 MB on our VM, most of a 1B model's load. On Linux this
 * maps anonymous memory instead (zero already) and asks for transparent huge pages, so the repack that fills it
 * faults in 2 MiB pages. Elsewhere, or if a call fails, it falls back to {@code Arena.ofAuto()}. Either way the
 * memory is freed when the segment becomes unreachable.
 */
final class AnonymousMemory {
    private AnonymousMemory() {
    }

    private static final int PROT_READ_WRITE = 0x1 | 0x2;
    private static final int MAP_PRIVATE_ANONYMOUS = 0x02 | 0x20;
    private static final int MADV_HUGEPAGE = 14;
    /** Below this a plain allocation is as good. */
    private static final long MIN_BYTES = 2L << 20;

    private static final MethodHandle MMAP;
    private static final MethodHandle MADVISE;
    private static final MethodHandle MUNMAP;

    static {
        MethodHandle mmap = null, madvise = null, munmap = null;
        String arch = System.getProperty("os.arch");
        if (System.getProperty("os.name").equals("Linux") && (arch.equals("amd64") || arch.equals("aarch64"))) {
            try {
                Linker linker = Linker.nativeLinker();
                var libc = linker.defaultLookup();
                mmap = linker.downcallHandle(libc.find("mmap").orElseThrow(),
                        FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
                madvise = linker.downcallHandle(libc.find("madvise").orElseThrow(),
                        FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
                munmap = linker.downcallHandle(libc.find("munmap").orElseThrow(),
                        FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
            } catch (RuntimeException | LinkageError e) {
                mmap = null; // no native access: the fallback serves
            }
        }
        MMAP = mmap;
        MADVISE = madvise;
        MUNMAP = munmap;
    }

    /** {@code bytes} of zeroed memory, aligned to at least 64 bytes. */
    static MemorySegment allocate(long bytes) {
        if (MMAP != null && bytes >= MIN_BYTES) {
            try {
                MemorySegment at = (MemorySegment) MMAP.invokeExact(MemorySegment.NULL, bytes, PROT_READ_WRITE,
                        MAP_PRIVATE_ANONYMOUS, -1, 0L);
                long address = at.address();
                if (address != -1L) {
                    int advised = (int) MADVISE.invokeExact(at, bytes, MADV_HUGEPAGE); // a refusal only costs speed
                    return at.reinterpret(bytes, Arena.ofAuto(), s -> unmap(address, bytes));
                }
            } catch (Throwable e) {
                // fall back below
            }
        }
        return Arena.ofAuto().allocate(bytes, 64);
    }

    private static void unmap(long address, long bytes) {
        try {
            int unmapped = (int) MUNMAP.invokeExact(MemorySegment.ofAddress(address), bytes);
        } catch (Throwable e) {
            throw new IllegalStateException("munmap failed", e);
        }
    }
}
