package org.mergelab.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.HashSet;
import java.util.Set;
import javax.imageio.ImageIO;
import org.mergelab.plot.Chart;

/** Checks on rendered charts. */
public final class Images {
    private Images() {}

    /** Counts colours and non-white pixels: a blank or axes-only image has very few of either. */
    public static void assertNotBlank(BufferedImage img) {
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

    /** Renders the chart as PNG bytes and as SVG, checks both, and checks the title says what it shows. */
    public static void assertRenders(Chart chart, String... titleWords) {
        for (String w : titleWords) assertTrue(chart.title().contains(w), chart.title() + " should mention " + w);
        byte[] png = chart.png();
        assertEquals((byte) 0x89, png[0]);
        try {
            assertNotBlank(ImageIO.read(new ByteArrayInputStream(png)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        String svg = chart.svg();
        assertTrue(svg.contains("<svg") && svg.contains("</svg>") && svg.length() > 5_000, "SVG holds the drawing");
    }
}
