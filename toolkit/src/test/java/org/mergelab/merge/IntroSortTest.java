package org.mergelab.merge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link IntroSort} sorts and selects correctly; which of several equal keys comes first is torch's choice, checked
 * end to end by the TIES, breadcrumbs and SCE goldens in bfloat16 (where equal magnitudes abound), and here on a
 * few orders recorded from torch 2.15 ({@code torch.argsort(w, descending=True)} of the small arrays below).
 */
class IntroSortTest {
    @Test
    void sortsAndSelectsLikeAnyCorrectSort() {
        SplittableRandom r = new SplittableRandom(1);
        for (int n : new int[] {1, 2, 16, 17, 100, 1000, 5000}) {
            float[] keys = new float[n];
            for (int i = 0; i < n; i++) keys[i] = r.nextInt(8);
            for (boolean desc : new boolean[] {false, true}) {
                int[] order = IntroSort.argsort(keys, n, desc);
                int[] sortedIdx = order.clone();
                Arrays.sort(sortedIdx);
                for (int i = 0; i < n; i++) assertEquals(i, sortedIdx[i], "a permutation");
                for (int i = 1; i < n; i++) {
                    assertTrue(desc ? keys[order[i - 1]] >= keys[order[i]] : keys[order[i - 1]] <= keys[order[i]]);
                }
            }
            for (int k : new int[] {1, Math.max(1, n / 64), Math.max(1, n / 2), n}) {
                int[] top = IntroSort.topk(keys, n, k, true);
                float[] sorted = keys.clone();
                Arrays.sort(sorted);
                float kth = sorted[n - k];
                int above = 0;
                for (int i : top) assertTrue(keys[i] >= kth);
                for (float v : keys) if (v > kth) above++;
                assertTrue(above <= k && top.length == k);
            }
        }
    }

    @Test
    void tiesFollowTorchsOrder() {
        // up to 16 elements std::sort is an insertion sort, so equal keys keep their order
        float[] w = {1, 2, 1, 2, 1, 3, 2, 1};
        assertArrayEquals(new int[] {5, 1, 3, 6, 0, 2, 4, 7}, IntroSort.argsort(w, w.length, true));
        assertArrayEquals(new int[] {0, 2, 4, 7, 1, 3, 6, 5}, IntroSort.argsort(w, w.length, false));
        // beyond 16, quicksort partitions reorder equal keys: torch.argsort([i % 3 for i in range(20)], descending=True)
        float[] v = new float[20];
        for (int i = 0; i < 20; i++) v[i] = i % 3;
        // (torch 2.15: python -c "import torch; print(torch.argsort(torch.tensor([float(i % 3) for i in range(20)]),
        //  descending=True).tolist())")
        assertArrayEquals(new int[] {2, 17, 5, 14, 8, 11, 10, 19, 16, 13, 7, 4, 1, 0, 9, 12, 6, 15, 3, 18},
                IntroSort.argsort(v, 20, true));
    }
}
