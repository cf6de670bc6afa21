package io.splitstream.service.draft;

import io.splitstream.engine.spec.DraftTree;

/** Draft trees on the wire ({@code splitstream.internal.v1.DraftTree}: tokens and parent indices). */
public final class DraftTrees {
    private DraftTrees() {
    }

    public static io.splitstream.proto.internal.v1.DraftTree toProto(DraftTree tree) {
        var b = io.splitstream.proto.internal.v1.DraftTree.newBuilder();
        for (int i = 0; i < tree.size(); i++) {
            b.addTokens(tree.token(i)).addParents(tree.parent(i));
        }
        return b.build();
    }

    /**
     * @throws IllegalArgumentException if a token is outside {@code [0, vocabularySize)}, a parent does not precede
     *                                  its child, or two siblings carry the same token
     */
    public static DraftTree fromProto(io.splitstream.proto.internal.v1.DraftTree proto, int vocabularySize) {
        if (proto.getTokensCount() != proto.getParentsCount()) {
            throw new IllegalArgumentException("draft tree has " + proto.getTokensCount() + " tokens but "
                    + proto.getParentsCount() + " parents");
        }
        DraftTree tree = new DraftTree(proto.getTokensCount());
        for (int i = 0; i < proto.getTokensCount(); i++) {
            int token = proto.getTokens(i);
            int parent = proto.getParents(i);
            if (token < 0 || token >= vocabularySize) {
                throw new IllegalArgumentException("draft node " + i + " has token id " + Integer.toUnsignedString(token)
                        + " outside the vocabulary of " + vocabularySize);
            }
            if (parent < -1 || parent >= i) {
                throw new IllegalArgumentException("draft node " + i + " has parent " + parent
                        + " (parents must precede their children, -1 = root)");
            }
            if (tree.add(parent, token) != i) {
                throw new IllegalArgumentException("draft node " + i + " repeats its sibling's token " + token);
            }
        }
        return tree;
    }
}
