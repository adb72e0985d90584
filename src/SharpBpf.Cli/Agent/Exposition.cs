using System.Globalization;
using System.Text;

namespace SharpBpf.Cli.Agent;

/// <summary>
/// Writes the Prometheus text exposition format 0.0.4: one <c># HELP</c> and <c># TYPE</c> line per family, then its
/// samples; label values escaped (<c>\\</c>, <c>\"</c>, <c>\n</c>), HELP text escaped (<c>\\</c>, <c>\n</c>), floats
/// in shortest round-trip form with <c>+Inf</c>/<c>-Inf</c>/<c>NaN</c>. Histograms are written pre-bucketed (a
/// "const histogram", as kernel log2 histograms need): cumulative <c>_bucket{le}</c> samples ending in
/// <c>le="+Inf"</c>, then <c>_sum</c> and <c>_count</c>.
/// </summary>
internal sealed class Exposition
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private readonly StringBuilder _out = new();

    public void Clear() => _out.Clear();

    public override string ToString() => _out.ToString();

    public void Family(string name, string help, MetricKind kind)
    {
        _out.Append("# HELP ").Append(name).Append(' ');
        foreach (char c in help)
        {
            if (c == '\\') _out.Append(@"\\");
            else if (c == '\n') _out.Append(@"\n");
            else _out.Append(c);
        }
        _out.Append("\n# TYPE ").Append(name).Append(' ').Append(kind switch
        {
            MetricKind.Counter => "counter",
            MetricKind.Gauge => "gauge",
            _ => "histogram",
        }).Append('\n');
    }

    /// <summary>One sample; <paramref name="labels"/> is a pre-rendered label list (see <see cref="Labels"/>),
    /// empty for none; <paramref name="extra"/> one more label (e.g. <c>le</c>) or null.</summary>
    public void Sample(string name, string labels, double value, string? extraName = null, string? extraValue = null)
    {
        _out.Append(name);
        if (labels.Length > 0 || extraName is not null)
        {
            _out.Append('{').Append(labels);
            if (extraName is not null)
            {
                if (labels.Length > 0) _out.Append(',');
                AppendLabel(_out, extraName, extraValue!);
            }
            _out.Append('}');
        }
        _out.Append(' ').Append(Number(value)).Append('\n');
    }

    /// <summary>A pre-bucketed histogram: <paramref name="bounds"/> ascending upper bounds, <paramref name="counts"/>
    /// the (non-cumulative) count in each bucket; the last bound may be +Inf, else a +Inf bucket is added.</summary>
    public void Histogram(string name, string labels, ReadOnlySpan<double> bounds, ReadOnlySpan<double> counts, double sum)
    {
        double cumulative = 0;
        for (int i = 0; i < bounds.Length; i++)
        {
            cumulative += counts[i];
            if (double.IsPositiveInfinity(bounds[i])) break;
            Sample(name + "_bucket", labels, cumulative, "le", Number(bounds[i]));
        }
        Sample(name + "_bucket", labels, cumulative, "le", "+Inf");
        Sample(name + "_sum", labels, sum);
        Sample(name + "_count", labels, cumulative);
    }

    /// <summary>Renders <c>a="x",b="y"</c>.</summary>
    public static string Labels(ReadOnlySpan<string> names, ReadOnlySpan<string> values)
    {
        if (names.Length == 0) return "";
        var sb = new StringBuilder();
        for (int i = 0; i < names.Length; i++)
        {
            if (i > 0) sb.Append(',');
            AppendLabel(sb, names[i], values[i]);
        }
        return sb.ToString();
    }

    private static void AppendLabel(StringBuilder sb, string name, string value)
    {
        sb.Append(name).Append("=\"");
        foreach (char c in value)
        {
            switch (c)
            {
                case '\\': sb.Append(@"\\"); break;
                case '"': sb.Append("\\\""); break;
                case '\n': sb.Append(@"\n"); break;
                default: sb.Append(c); break;
            }
        }
        sb.Append('"');
    }

    public static string Number(double v) =>
        double.IsPositiveInfinity(v) ? "+Inf" :
        double.IsNegativeInfinity(v) ? "-Inf" :
        double.IsNaN(v) ? "NaN" :
        v.ToString("R", CultureInfo.InvariantCulture);
}
