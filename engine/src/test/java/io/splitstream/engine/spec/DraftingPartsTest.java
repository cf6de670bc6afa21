package io.splitstream.engine.spec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The drafting parts without a model: trees, templates, the recycler table and the suffix index. */
class DraftingPartsTest {

    @Test
    void treeKeepsParentsBeforeChildrenAndSharesDuplicateSiblings() {
        DraftTree t = new DraftTree(3);
        int a = t.add(-1, 5);
        int b = t.add(a, 6);
        assertEquals(a, t.add(-1, 5));
        int c = t.add(-1, 7);
        assertEquals(-1, t.add(b, 8), "budget spent");
        assertEquals(3, t.size());
        assertEquals(2, t.depth(b));
        assertArrayEquals(new int[] {5, 6}, t.path(b));
        assertEquals(c, t.child(-1, 7));
        assertEquals(-1, t.child(a, 7));
        assertEquals(2, t.prefix(2).size());
    }

    @Test
    void tokenRecyclingTemplateHasThePapersShape() {
        TreeTemplate t = TreeTemplate.tokenRecycling();
        assertEquals(80, t.size());
        assertArrayEquals(new int[] {8, 21, 25, 15, 8, 3}, t.levelSizes());
        checkBreadthFirst(t);
        // Low columns get more children: the first child of the root's best candidate has the most.
        for (int budget : new int[] {1, 4, 8, 16, 32, 79}) {
            TreeTemplate small = TreeTemplate.forBudget(budget);
            assertEquals(budget, small.size());
            assertTrue(small.maxDepth() <= 6);
            checkBreadthFirst(small);
        }
        assertEquals(0, TreeTemplate.forBudget(4).column(0));
    }

    private static void checkBreadthFirst(TreeTemplate t) {
        for (int i = 0; i < t.size(); i++) {
            assertTrue(t.parent(i) < i);
            if (i > 0) {
                assertTrue(t.depth(i) >= t.depth(i - 1), "breadth-first order");
            }
        }
    }

    @Test
    void recyclerKeepsTopKAndDraftsAlongTheTemplate() {
        TokenRecycler r = new TokenRecycler(16, 3);
        assertEquals(0, r.propose(0, 10).size(), "an empty table drafts nothing");
        float[] logits = new float[16];
        logits[4] = 3;
        logits[9] = 5;
        logits[2] = 3; // tie with 4: the lower id ranks first
        logits[11] = 1;
        r.update(0, logits);
        assertEquals(9, r.candidate(0, 0));
        assertEquals(2, r.candidate(0, 1));
        assertEquals(4, r.candidate(0, 2));
        float[] after9 = new float[16];
        after9[1] = 2;
        r.update(9, after9);
        DraftTree t = r.propose(0, 6);
        assertEquals(9, t.token(0));
        int child = t.child(0, 1);
        assertTrue(child > 0, "row 9's best candidate hangs under node 9: " + t);
        assertEquals(16L * 3 * 4, r.sizeBytes());
        float[] overwrite = new float[16];
        overwrite[15] = 1;
        r.update(0, overwrite);
        assertEquals(15, r.candidate(0, 0), "rows are overwritten, not merged");
    }

    @Test
    void recyclerSnapshotRoundTripsAndRefusesAnotherShape() throws IOException {
        TokenRecycler r = new TokenRecycler(64);
        SplittableRandom random = new SplittableRandom(3);
        for (int token = 0; token < 64; token += 3) {
            float[] logits = new float[64];
            for (int i = 0; i < 64; i++) {
                logits[i] = (float) random.nextGaussian();
            }
            r.update(token, logits);
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        r.snapshot(bytes);
        TokenRecycler copy = new TokenRecycler(64);
        copy.load(new ByteArrayInputStream(bytes.toByteArray()));
        for (int token = 0; token < 64; token++) {
            for (int c = 0; c < 8; c++) {
                assertEquals(r.candidate(token, c), copy.candidate(token, c));
            }
        }
        IOException wrongVocab = assertThrows(IOException.class,
                () -> new TokenRecycler(65).load(new ByteArrayInputStream(bytes.toByteArray())));
        assertTrue(wrongVocab.getMessage().contains("vocabulary 64"), wrongVocab.getMessage());
        IOException wrongK = assertThrows(IOException.class,
                () -> new TokenRecycler(64, 4).load(new ByteArrayInputStream(bytes.toByteArray())));
        assertTrue(wrongK.getMessage().contains("k = 8"), wrongK.getMessage());
        byte[] garbage = bytes.toByteArray().clone();
        garbage[0] = 0;
        assertThrows(IOException.class, () -> new TokenRecycler(64).load(new ByteArrayInputStream(garbage)));
    }

    @Test
    void retrievalProposesTheContinuationOfARepeatedPhrase() {
        SuffixIndex index = new SuffixIndex();
        int[] phrase = {10, 11, 12, 13, 14, 15, 16};
        int[] text = {1, 2, 3, 10, 11, 12, 13, 14, 15, 16, 4, 5, 6};
        index.addDocument(text);
        int[] context = {7, 8, 10, 11, 12};
        DraftTree t = index.propose(context, context.length, 16, 8);
        assertArrayEquals(new int[] {13, 14, 15, 16, 4, 5, 6}, t.path(t.size() - 1), t.toString());
        // The longest match wins over shorter ones: "12" alone also follows 99 elsewhere.
        index.addDocument(new int[] {12, 99, 98});
        t = index.propose(context, context.length, 16, 8);
        assertEquals(13, t.token(0), t.toString());
        assertEquals(-1, t.child(-1, 99));
        // Continuations never cross into the next document, and the context's own tail is not a match.
        SuffixIndex own = new SuffixIndex();
        own.addDocument(phrase);
        assertEquals(0, own.propose(phrase, phrase.length, 8, 8).size());
    }

    @Test
    void retrievalMergesOccurrencesByFrequency() {
        SuffixIndex index = new SuffixIndex();
        index.addDocument(new int[] {5, 6, 1, 2});
        index.addDocument(new int[] {5, 6, 1, 3});
        index.addDocument(new int[] {5, 6, 7, 8});
        DraftTree t = index.propose(new int[] {5, 6}, 2, 3, 4);
        assertEquals(1, t.token(0), "the most frequent continuation comes first: " + t);
        assertEquals(3, t.size());
    }

    @Test
    void retrievalScalesToALargeIndex() {
        SuffixIndex index = new SuffixIndex();
        SplittableRandom random = new SplittableRandom(1);
        int[] corpus = new int[200_000];
        for (int i = 0; i < corpus.length; i++) {
            corpus[i] = random.nextInt(512);
        }
        long t0 = System.nanoTime();
        index.addDocument(corpus);
        long built = System.nanoTime() - t0;
        int[] context = java.util.Arrays.copyOfRange(corpus, 150_000, 150_010);
        t0 = System.nanoTime();
        DraftTree tree = null;
        for (int i = 0; i < 1000; i++) {
            tree = index.propose(context, context.length, 32, 8);
        }
        long lookups = System.nanoTime() - t0;
        assertEquals(corpus[150_010], tree.token(0));
        assertArrayEquals(java.util.Arrays.copyOfRange(corpus, 150_010, 150_018), tree.path(7));
        System.out.printf("suffix index: 200k tokens built in %.0f ms, %.1f us per lookup, %.1f MB%n", built / 1e6,
                lookups / 1e3 / 1000, index.sizeBytes() / 1e6);
        assertTrue(lookups / 1000 < 2_000_000, "lookup took " + lookups / 1000 + " ns");
    }
}
