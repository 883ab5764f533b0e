package org.mergelab.notebook;

import org.dflib.jjava.jupyter.Extension;
import org.dflib.jjava.jupyter.kernel.BaseKernel;
import org.dflib.jjava.jupyter.kernel.display.DisplayData;
import org.dflib.jjava.jupyter.kernel.display.mime.MIMEType;
import org.mergelab.merge.MergeOptions;
import org.mergelab.plot.Chart;
import tech.tablesaw.api.Table;

/**
 * Registers MergeLab's renderers with the JJava kernel, which loads this class from the toolkit jar when the jar is
 * on the kernel's classpath: a {@link Chart} as a cell's value shows as a PNG, a Tablesaw {@link Table} as an HTML
 * table, and every merge started with {@code MergeOptions.defaults()} shows an HTML progress bar in its cell. Other kernels never load this class (IJava users show charts with {@code chart.image()}).
 */
public final class JJavaExtension implements Extension {
    @Override
    public void install(BaseKernel kernel) {
        Display cell = new Display() {
            @Override
            public synchronized void show(String displayId, String html) {
                DisplayData d = new DisplayData();
                d.putData(MIMEType.TEXT_HTML, html);
                // putTransientData, not setDisplayId: the latter changed signature between JJava releases.
                d.putTransientData("display_id", displayId);
                kernel.getIO().display.display(d);
            }

            @Override
            public synchronized void update(String displayId, String html) {
                DisplayData d = new DisplayData();
                d.putData(MIMEType.TEXT_HTML, html);
                kernel.getIO().display.updateDisplay(displayId, d);
            }
        };
        MergeOptions.setDefaultProgress(() -> new HtmlProgress(cell, "merging"));
        kernel.getRenderer().createRegistration(Chart.class)
                .preferring(MIMEType.IMAGE_PNG)
                .supporting(MIMEType.IMAGE_PNG, MIMEType.TEXT_PLAIN)
                .register((chart, ctx) -> {
                    ctx.renderIfRequested(MIMEType.IMAGE_PNG, () -> chart.pngBase64());
                    ctx.renderIfRequested(MIMEType.TEXT_PLAIN, () -> chart.toString());
                });
        kernel.getRenderer().createRegistration(Table.class)
                .preferring(MIMEType.TEXT_HTML)
                .supporting(MIMEType.TEXT_HTML, MIMEType.TEXT_PLAIN)
                .register((table, ctx) -> {
                    ctx.renderIfRequested(MIMEType.TEXT_HTML, () -> Html.table(table));
                    ctx.renderIfRequested(MIMEType.TEXT_PLAIN, () -> table.print());
                });
    }
}
