package org.mergelab.notebook;

import tech.tablesaw.api.NumericColumn;
import tech.tablesaw.api.Table;
import tech.tablesaw.columns.Column;

/** Tables as compact HTML for notebooks: numbers to six significant digits, long tables cut in the middle. */
public final class Html {
    private Html() {}

    public static String table(Table t) {
        return table(t, 40);
    }

    public static String table(Table t, int maxRows) {
        StringBuilder sb = new StringBuilder("<div><table class=\"dataframe\" border=\"1\">");
        sb.append("<caption style=\"text-align:left\">").append(escape(t.name())).append(" (").append(t.rowCount())
                .append(" rows &times; ").append(t.columnCount()).append(" columns)</caption><thead><tr>");
        for (Column<?> c : t.columns()) sb.append("<th>").append(escape(c.name())).append("</th>");
        sb.append("</tr></thead><tbody>");
        int n = t.rowCount();
        int head = n <= maxRows ? n : maxRows * 3 / 4, tail = n <= maxRows ? 0 : maxRows - head;
        for (int i = 0; i < head; i++) row(sb, t, i);
        if (tail > 0) {
            sb.append("<tr><td colspan=\"").append(t.columnCount()).append("\">&hellip; ").append(n - head - tail)
                    .append(" more rows &hellip;</td></tr>");
            for (int i = n - tail; i < n; i++) row(sb, t, i);
        }
        return sb.append("</tbody></table></div>").toString();
    }

    private static void row(StringBuilder sb, Table t, int i) {
        sb.append("<tr>");
        for (Column<?> c : t.columns()) {
            String cell;
            if (c.isMissing(i)) {
                cell = "";
            } else if (c instanceof NumericColumn<?> nc && !(c.type().name().contains("INT") || c.type().name().contains("LONG"))) {
                cell = format(nc.getDouble(i));
            } else {
                cell = c.getString(i);
            }
            sb.append("<td>").append(escape(cell)).append("</td>");
        }
        sb.append("</tr>");
    }

    static String format(double v) {
        if (Double.isNaN(v)) return "NaN";
        if (v == 0) return "0";
        double a = Math.abs(v);
        if (a >= 1e-4 && a < 1e6) {
            String s = String.format("%.6g", v);
            return s.contains(".") && !s.contains("e") ? s.replaceAll("0+$", "").replaceAll("\\.$", "") : s;
        }
        return String.format("%.4e", v);
    }

    static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
