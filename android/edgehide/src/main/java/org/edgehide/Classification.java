package org.edgehide;

/** One frame's answer: the most likely class, its label and probability, and the top classes. */
public final class Classification {
    private final int index;
    private final String label;
    private final int[] topIndices;
    private final float[] topProbabilities;

    Classification(int index, String label, int[] topIndices, float[] topProbabilities) {
        this.index = index;
        this.label = label;
        this.topIndices = topIndices;
        this.topProbabilities = topProbabilities;
    }

    /** The most likely class. */
    public int index() { return index; }

    /** Its label. */
    public String label() { return label; }

    /** Its softmax probability. */
    public float probability() { return topProbabilities[0]; }

    /** The most likely classes, best first. */
    public int[] topIndices() { return topIndices.clone(); }

    /** Their probabilities. */
    public float[] topProbabilities() { return topProbabilities.clone(); }

    @Override
    public String toString() {
        return label + " (" + Math.round(probability() * 100) + "%)";
    }
}
