import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;

/**
 * Turns loadgen reports (RAW/{split,colocated}-RATE.json) into bench/results/split-vs-colocated.md and .png.
 * Usage: java Chart.java RAW_DIR OUT_DIR MODEL_NAME SLO_TBT_MS
 */
public class Chart {
    record Row(double rate, double ttft50, double ttft99, double tbt50, double tbt99, double goodput, double attainment,
               int completed, int requests) {
    }

    static double number(String json, String path) {
        String[] keys = path.split("\\.");
        int from = 0;
        for (int i = 0; i < keys.length - 1; i++) {
            from = json.indexOf("\"" + keys[i] + "\":{", from);
        }
        Matcher m = Pattern.compile("\"" + keys[keys.length - 1] + "\":(-?[0-9.eE+-]+|null)").matcher(json);
        return m.find(from) && !m.group(1).equals("null") ? Double.parseDouble(m.group(1)) : Double.NaN;
    }

    static TreeMap<Double, Row> load(Path raw, String mode) throws IOException {
        TreeMap<Double, Row> rows = new TreeMap<>();
        try (var files = Files.list(raw)) {
            for (Path f : files.filter(p -> p.getFileName().toString().startsWith(mode + "-") && p.toString().endsWith(".json")).toList()) {
                String j = Files.readString(f);
                double rate = number(j, "rate");
                rows.put(rate, new Row(rate, number(j, "ttft_ms.p50"), number(j, "ttft_ms.p99"), number(j, "tbt_ms.p50"),
                        number(j, "tbt_ms.p99"), number(j, "goodput_requests_per_s"), number(j, "slo_attainment"),
                        (int) number(j, "completed"), (int) number(j, "requests")));
            }
        }
        return rows;
    }

    public static void main(String[] args) throws IOException {
        Path raw = Path.of(args[0]);
        Path out = Path.of(args[1]);
        String model = args[2];
        double slo = Double.parseDouble(args[3]);
        TreeMap<Double, Row> split = load(raw, "split");
        TreeMap<Double, Row> colo = load(raw, "colocated");
        StringBuilder md = new StringBuilder("# Split vs colocated on " + model + "\n\n");
        md.append("Open-loop Poisson load (`splitstream loadgen`), latencies in ms. TBT SLO: p99 ≤ ").append((int) slo).append(" ms.\n\n");
        md.append("| rate (req/s) | mode | TTFT p50 | TTFT p99 | TBT p50 | TBT p99 | goodput (req/s) | completed |\n");
        md.append("| --- | --- | --- | --- | --- | --- | --- | --- |\n");
        for (double rate : split.keySet()) {
            for (var e : List.of(List.of("split", split), List.of("colocated", colo))) {
                @SuppressWarnings("unchecked")
                Row r = ((TreeMap<Double, Row>) e.get(1)).get(rate);
                if (r != null) {
                    md.append(String.format(Locale.ROOT, "| %.2f | %s | %.0f | %.0f | %.1f | %.1f | %.2f | %d/%d |%n", rate, e.get(0),
                            r.ttft50, r.ttft99, r.tbt50, r.tbt99, r.goodput, r.completed, r.requests));
                }
            }
        }
        md.append("\nHighest rate meeting the TBT SLO: split ").append(lastMeeting(split, slo)).append(", colocated ")
                .append(lastMeeting(colo, slo)).append(".\n\n![chart](split-vs-colocated.png)\n");
        Files.writeString(out.resolve("split-vs-colocated.md"), md);
        BufferedImage img = new BufferedImage(1000, 420, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, 1000, 420);
        panel(g, 40, "TTFT (ms) vs rate", split, colo, true);
        panel(g, 530, "TBT (ms) vs rate", split, colo, false);
        g.setColor(Color.BLACK);
        g.drawString("blue: split   orange: colocated   solid: p50   dashed: p99   model " + model, 40, 410);
        ImageIO.write(img, "png", out.resolve("split-vs-colocated.png").toFile());
    }

    static String lastMeeting(TreeMap<Double, Row> rows, double slo) {
        String best = "none";
        for (Row r : rows.values()) {
            if (r.tbt99 <= slo && r.completed == r.requests) {
                best = r.rate + " req/s";
            }
        }
        return best;
    }

    static void panel(Graphics2D g, int x0, String title, TreeMap<Double, Row> split, TreeMap<Double, Row> colo, boolean ttft) {
        int w = 430, h = 320, y0 = 40;
        double maxX = Math.max(split.isEmpty() ? 1 : split.lastKey(), colo.isEmpty() ? 1 : colo.lastKey());
        double maxY = 1;
        for (Row r : new ArrayList<Row>() {{ addAll(split.values()); addAll(colo.values()); }}) {
            maxY = Math.max(maxY, ttft ? r.ttft99 : r.tbt99);
        }
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
        g.drawString(title, x0, y0 - 12);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        g.drawRect(x0, y0, w, h);
        g.drawString("0", x0 - 10, y0 + h + 12);
        g.drawString(String.format(Locale.ROOT, "%.1f req/s", maxX), x0 + w - 50, y0 + h + 14);
        g.drawString(String.format(Locale.ROOT, "%.0f", maxY), x0 - 35, y0 + 10);
        line(g, split, ttft, true, new Color(31, 119, 180), x0, y0, w, h, maxX, maxY);
        line(g, split, ttft, false, new Color(31, 119, 180), x0, y0, w, h, maxX, maxY);
        line(g, colo, ttft, true, new Color(255, 127, 14), x0, y0, w, h, maxX, maxY);
        line(g, colo, ttft, false, new Color(255, 127, 14), x0, y0, w, h, maxX, maxY);
    }

    static void line(Graphics2D g, TreeMap<Double, Row> rows, boolean ttft, boolean p50, Color c, int x0, int y0, int w, int h,
                     double maxX, double maxY) {
        g.setColor(c);
        g.setStroke(p50 ? new BasicStroke(2f) : new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {6f, 4f}, 0f));
        int px = -1, py = -1;
        for (Row r : rows.values()) {
            double v = ttft ? (p50 ? r.ttft50 : r.ttft99) : (p50 ? r.tbt50 : r.tbt99);
            if (Double.isNaN(v)) {
                continue;
            }
            int x = x0 + (int) (r.rate / maxX * w);
            int y = y0 + h - (int) (v / maxY * h);
            g.fillOval(x - 3, y - 3, 6, 6);
            if (px >= 0) {
                g.drawLine(px, py, x, y);
            }
            px = x;
            py = y;
        }
        g.setStroke(new BasicStroke(1f));
    }
}
