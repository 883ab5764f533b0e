package org.mergelab.notebook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.mergelab.merge.MergeOptions;

class HtmlProgressTest {
    record Call(String kind, String id, String html) {}

    static final class Recording implements Display {
        final List<Call> calls = new ArrayList<>();

        @Override
        public void show(String displayId, String html) {
            calls.add(new Call("show", displayId, html));
        }

        @Override
        public void update(String displayId, String html) {
            calls.add(new Call("update", displayId, html));
        }
    }

    @Test
    void showsOnceThenUpdatesInPlaceThrottledButAlwaysTheEnd() {
        Recording d = new Recording();
        HtmlProgress p = new HtmlProgress(d, "merging <x>");
        for (int i = 1; i <= 1000; i++) p.update(i, 1000, i * 1000L, 1_000_000L);
        assertEquals("show", d.calls.get(0).kind());
        assertTrue(d.calls.stream().skip(1).allMatch(c -> c.kind().equals("update")));
        assertTrue(d.calls.stream().allMatch(c -> c.id().equals(d.calls.get(0).id())), "one display, updated in place");
        assertTrue(d.calls.size() < 50, d.calls.size() + " updates for 1000 tensors: throttled");
        Call last = d.calls.get(d.calls.size() - 1);
        assertTrue(last.html().contains("value=\"1000\" max=\"1000\"") && last.html().contains("done in"), last.html());
        assertTrue(d.calls.get(0).html().contains("merging &lt;x&gt;"), "the label is escaped");
    }

    @Test
    void theNotebookHookMakesDefaultsReportProgress() {
        Recording d = new Recording();
        try {
            MergeOptions.setDefaultProgress(() -> new HtmlProgress(d, "merging"));
            MergeOptions.defaults().progress().update(1, 1, 10, 10);
            assertEquals(1, d.calls.size());
        } finally {
            MergeOptions.setDefaultProgress(null);
        }
        MergeOptions.defaults().progress().update(1, 1, 10, 10);
        assertEquals(1, d.calls.size(), "without the hook, defaults report nowhere");
    }
}
