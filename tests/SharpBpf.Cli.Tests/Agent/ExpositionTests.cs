using SharpBpf.Cli.Agent;

namespace SharpBpf.Cli.Tests.Agent;

/// <summary>The Prometheus text format 0.0.4 rules the agent's writer must follow.</summary>
public class ExpositionTests
{
    [Fact]
    public void HelpTypeAndEscapedLabels()
    {
        var e = new Exposition();
        e.Family("x_total", "a \\ help\nline", MetricKind.Counter);
        e.Sample("x_total", Exposition.Labels(["a", "b"], ["q\"uote", "back\\slash\nnl"]), 3);
        e.Family("g", "gauge", MetricKind.Gauge);
        e.Sample("g", "", -1.5);
        Assert.Equal(
            "# HELP x_total a \\\\ help\\nline\n# TYPE x_total counter\n" +
            "x_total{a=\"q\\\"uote\",b=\"back\\\\slash\\nnl\"} 3\n" +
            "# HELP g gauge\n# TYPE g gauge\ng -1.5\n", e.ToString());
    }

    [Theory]
    [InlineData(double.PositiveInfinity, "+Inf")]
    [InlineData(double.NegativeInfinity, "-Inf")]
    [InlineData(double.NaN, "NaN")]
    [InlineData(0.1, "0.1")]
    [InlineData(1e21, "1E+21")]
    [InlineData(18446744073709551615.0, "1.8446744073709552E+19")]
    public void Numbers(double v, string text) => Assert.Equal(text, Exposition.Number(v));

    [Fact]
    public void ConstHistogramIsCumulativeWithInfBucketSumAndCount()
    {
        var e = new Exposition();
        e.Family("lat_seconds", "h", MetricKind.Histogram);
        e.Histogram("lat_seconds", "disk=\"sda\"", [0.5, 1, double.PositiveInfinity], [2, 3, 4], 7.25);
        Assert.Equal(
            "# HELP lat_seconds h\n# TYPE lat_seconds histogram\n" +
            "lat_seconds_bucket{disk=\"sda\",le=\"0.5\"} 2\n" +
            "lat_seconds_bucket{disk=\"sda\",le=\"1\"} 5\n" +
            "lat_seconds_bucket{disk=\"sda\",le=\"+Inf\"} 9\n" +
            "lat_seconds_sum{disk=\"sda\"} 7.25\n" +
            "lat_seconds_count{disk=\"sda\"} 9\n", e.ToString());
    }

    [Fact]
    public void HistogramWithoutInfBoundGetsOne()
    {
        var e = new Exposition();
        e.Histogram("h", "", [1, 2], [1, 1], 2);
        Assert.Equal("h_bucket{le=\"1\"} 1\nh_bucket{le=\"2\"} 2\nh_bucket{le=\"+Inf\"} 2\nh_sum 2\nh_count 2\n", e.ToString());
    }
}
