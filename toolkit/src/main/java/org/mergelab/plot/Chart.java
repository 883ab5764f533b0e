package org.mergelab.plot;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Locale;
import javax.imageio.ImageIO;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.VectorGraphicsEncoder;

/**
 * An XChart chart that shows inline in a notebook and saves as PNG or SVG. In JJava the chart itself renders as an
 * image (MergeLab registers a renderer); in any Java kernel {@link #image()} as a cell's last expression does.
 *
 * <pre>{@code
 * Chart c = Divergence.between(base, tuned).byLayer().plot();
 * c.save(Path.of("cosine.png"));   // or .svg
 * c.xchart().getStyler().setYAxisMin(0.9);   // the underlying XChart chart, to restyle
 * }</pre>
 */
public final class Chart {
    private final org.knowm.xchart.internal.chartpart.Chart<?, ?> chart;

    public Chart(org.knowm.xchart.internal.chartpart.Chart<?, ?> chart) {
        this.chart = chart;
    }

    /** The XChart chart, to restyle or to add series. */
    public org.knowm.xchart.internal.chartpart.Chart<?, ?> xchart() {
        return chart;
    }

    public String title() {
        return chart.getTitle();
    }

    public int width() {
        return chart.getWidth();
    }

    public int height() {
        return chart.getHeight();
    }

    /** The chart drawn as an image: shows inline in IJava, JJava and rapaio as a cell's last expression. */
    public BufferedImage image() {
        return BitmapEncoder.getBufferedImage(chart);
    }

    public byte[] png() {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ImageIO.write(image(), "png", out);
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public String pngBase64() {
        return Base64.getEncoder().encodeToString(png());
    }

    /** A standalone SVG document of the chart. */
    public String svg() {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            VectorGraphicsEncoder.saveVectorGraphic(chart, out, VectorGraphicsEncoder.VectorGraphicsFormat.SVG);
            return out.toString(java.nio.charset.StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Saves as PNG or SVG, chosen by the file's extension; returns the path. */
    public Path save(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        try {
            if (file.toAbsolutePath().getParent() != null) Files.createDirectories(file.toAbsolutePath().getParent());
            if (name.endsWith(".svg")) {
                Files.writeString(file, svg());
            } else if (name.endsWith(".png")) {
                Files.write(file, png());
            } else {
                throw new IllegalArgumentException("save charts as .png or .svg, not " + file.getFileName());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("saving chart to " + file + ": " + e.getMessage(), e);
        }
        return file;
    }

    @Override
    public String toString() {
        return "Chart[" + chart.getTitle() + ", " + chart.getWidth() + "x" + chart.getHeight()
                + "; .image() shows it, .save(path) writes PNG/SVG]";
    }
}
