using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace SharpBpf.Cli.Agent;

/// <summary>
/// Pushes the agent's metrics over OTLP with OpenTelemetry's exporter: observable instruments on one
/// <see cref="Meter"/> read the maps at each export (cumulative temporality, so counters keep the kernel's running
/// totals). Counters lose the Prometheus <c>_total</c> suffix (OpenTelemetry names them without it and Prometheus
/// adds it back). .NET has no observable histogram, so a pre-bucketed kernel histogram goes out as the classic
/// Prometheus triple: <c>NAME_bucket</c> (a counter per cumulative <c>le</c> bucket), <c>NAME_count</c> and
/// <c>NAME_sum</c>; the three are read from one map walk per export.
/// </summary>
internal sealed class OtlpExport : IDisposable
{
    public const string MeterName = "SharpBpf.Agent";
    public const string ServiceName = "sharpbpf-agent";

    private readonly Meter _meter = new(MeterName);
    private readonly MeterProvider _provider;

    public OtlpExport(OtlpConfig config, IEnumerable<MapMetric> metrics)
    {
        foreach (var m in metrics) Register(m);
        _provider = Sdk.CreateMeterProviderBuilder()
            .ConfigureResource(r => r.AddService(ServiceName))
            .AddMeter(MeterName)
            .AddOtlpExporter((exporter, reader) =>
            {
                exporter.Endpoint = config.Endpoint;
                exporter.Protocol = config.Grpc ? OtlpExportProtocol.Grpc : OtlpExportProtocol.HttpProtobuf;
                if (config.Headers.Count > 0) exporter.Headers = string.Join(',', config.Headers.Select(h => $"{h.Key}={h.Value}"));
                reader.TemporalityPreference = MetricReaderTemporalityPreference.Cumulative;
                reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)config.Interval.TotalMilliseconds;
            })
            .Build();
    }

    /// <summary>Exports now (what the periodic reader would do at its next tick); false when the export failed.</summary>
    public bool Flush(TimeSpan timeout) => _provider.ForceFlush((int)timeout.TotalMilliseconds);

    private void Register(MapMetric metric)
    {
        var c = metric.Config;
        switch (c.Kind)
        {
            case MetricKind.Counter:
                string name = c.Name.EndsWith("_total", StringComparison.Ordinal) ? c.Name[..^"_total".Length] : c.Name;
                _meter.CreateObservableCounter(name, () => Numbers(metric), description: c.Help);
                break;
            case MetricKind.Gauge:
                _meter.CreateObservableGauge(c.Name, () => Numbers(metric), description: c.Help);
                break;
            default:
                var snapshot = new HistogramSnapshot(metric);
                _meter.CreateObservableCounter(c.Name + "_bucket", snapshot.Buckets, description: c.Help + " (cumulative log2 buckets)");
                _meter.CreateObservableCounter(c.Name + "_count", snapshot.Counts, description: c.Help + " (observations)");
                _meter.CreateObservableCounter(c.Name + "_sum", snapshot.Sums, description: c.Help + " (sum estimated from bucket midpoints)");
                break;
        }
    }

    private static IEnumerable<Measurement<double>> Numbers(MapMetric metric)
    {
        double scale = metric.Config.Scale;
        return metric.Collect().Select(s => new Measurement<double>(s.Values[0] * scale, Tags(metric, s)));
    }

    private static TagList Tags(MapMetric metric, MapMetric.Series s, string? le = null)
    {
        var tags = new TagList();
        for (int i = 0; i < s.LabelValues.Length; i++) tags.Add(metric.LabelNames[i], s.LabelValues[i]);
        if (le is not null) tags.Add("le", le);
        return tags;
    }

    /// <summary>One map walk shared by a histogram's three instruments: the export calls their callbacks one after
    /// another, so a walk younger than half a second is reused.</summary>
    private sealed class HistogramSnapshot(MapMetric metric)
    {
        private static readonly long MaxAge = Stopwatch.Frequency / 2;
        private readonly Lock _lock = new();
        private List<MapMetric.Series>? _series;
        private long _taken;

        private List<MapMetric.Series> Current()
        {
            lock (_lock)
            {
                long now = Stopwatch.GetTimestamp();
                if (_series is null || now - _taken > MaxAge)
                {
                    _series = metric.Collect();
                    _taken = now;
                }
                return _series;
            }
        }

        public IEnumerable<Measurement<double>> Buckets()
        {
            foreach (var s in Current())
            {
                double cumulative = 0;
                for (int i = 0; i < metric.Slots; i++)
                {
                    cumulative += s.Values[i];
                    double bound = metric.UpperBound(i);
                    yield return new Measurement<double>(cumulative, Tags(metric, s,
                        double.IsPositiveInfinity(bound) ? "+Inf" : bound.ToString("R", CultureInfo.InvariantCulture)));
                }
            }
        }

        public IEnumerable<Measurement<double>> Counts() =>
            Current().Select(s => new Measurement<double>(s.Values.Sum(), Tags(metric, s)));

        public IEnumerable<Measurement<double>> Sums() =>
            Current().Select(s => new Measurement<double>(metric.EstimatedSum(s.Values), Tags(metric, s)));
    }

    public void Dispose()
    {
        _provider.Dispose(); // exports once more and shuts the exporter down
        _meter.Dispose();
    }
}
