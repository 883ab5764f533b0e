package org.mergelab.plot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.knowm.xchart.XYChart;
import org.mergelab.analysis.Divergence;
import org.mergelab.analysis.LayerDivergence;
import org.mergelab.hub.DemoModels;

class ChartTest {
    /** Counts colours and non-white pixels: a blank or axes-only image has very few of either. */
    static void assertNotBlank(BufferedImage img) {
        Set<Integer> colours = new HashSet<>();
        long nonWhite = 0;
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                int rgb = img.getRGB(x, y) & 0xFFFFFF;
                colours.add(rgb);
                if (rgb != 0xFFFFFF) nonWhite++;
            }
        }
        assertTrue(colours.size() > 20, "only " + colours.size() + " colours: the chart looks blank");
        assertTrue(nonWhite > img.getWidth() * img.getHeight() / 50, "almost nothing drawn: " + nonWhite + " pixels");
    }

    @Test
    void divergenceByLayerDrawsOneLinePerModuleAndSaves(@TempDir Path dir) throws IOException {
        Path base = DemoModels.ensure("stories260K", dir);
        Path tuned = DemoModels.ensure("stories260K-shakespeare", dir);
        LayerDivergence layers = Divergence.between(base, tuned).byLayer();
        Chart chart = layers.plot();
        XYChart xy = (XYChart) chart.xchart();
        Set<String> names = new HashSet<>();
        xy.getSeriesCollection().forEach(s -> names.add(s.getName()));
        assertEquals(Set.of("attn_q", "attn_k", "attn_v", "attn_o", "mlp_gate", "mlp_up", "mlp_down", "norm", "all"),
                names);
        // Each series has one point per layer, at x = 0..4, with the table's cosine as y.
        double[] x = xy.getSeries("attn_v").getXData();
        double[] y = xy.getSeries("attn_v").getYData();
        assertEquals(5, x.length);
        for (int l = 0; l < 5; l++) {
            assertEquals(l, x[l]);
            int row = l;
            double expected = layers.where(layers.intColumn("layer").isEqualTo(row)
                    .and(layers.stringColumn("module").isEqualTo("attn_v"))).doubleColumn("cosine").getDouble(0);
            assertEquals(expected, y[l]);
        }
        assertTrue(chart.title().contains("cosine") && chart.title().contains("stories260K-shakespeare"));
        assertNotBlank(chart.image());

        Path png = chart.save(dir.resolve("c.png"));
        byte[] head = Files.readAllBytes(png);
        assertEquals((byte) 0x89, head[0]);
        assertEquals('P', head[1]);
        assertNotBlank(javax.imageio.ImageIO.read(png.toFile()));
        String svg = Files.readString(chart.save(dir.resolve("c.svg")));
        assertTrue(svg.contains("<svg") && svg.contains("</svg>"));
        assertTrue(svg.length() > 10_000, "SVG holds the lines and labels");
    }
}
