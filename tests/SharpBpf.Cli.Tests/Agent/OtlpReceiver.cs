using System.IO.Compression;
using System.Net;
using System.Text;

namespace SharpBpf.Cli.Tests.Agent;

/// <summary>One OTLP number data point as the receiver decoded it.</summary>
internal sealed record OtlpPoint(string Metric, string Kind, bool Monotonic, IReadOnlyDictionary<string, string> Attributes, double Value);

/// <summary>One OTLP/HTTP export request: the resource's attributes and every number data point.</summary>
internal sealed record OtlpRequest(IReadOnlyDictionary<string, string> Resource, IReadOnlyList<OtlpPoint> Points);

/// <summary>
/// A minimal OTLP/HTTP metrics receiver for tests: accepts POST /v1/metrics with protobuf bodies (gzip or not) and
/// decodes ExportMetricsServiceRequest → ResourceMetrics → ScopeMetrics → Metric → Sum/Gauge → NumberDataPoint from
/// the protobuf wire format (field numbers from opentelemetry-proto's metrics.proto and common.proto).
/// </summary>
internal sealed class OtlpReceiver : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly List<OtlpRequest> _requests = [];
    private readonly List<string> _errors = [];
    private readonly Task _loop;

    public OtlpReceiver(int port)
    {
        Port = port;
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        _listener.Start();
        _loop = Task.Run(Loop);
    }

    public int Port { get; }

    public List<OtlpRequest> Requests
    {
        get { lock (_requests) return [.. _requests]; }
    }

    public List<string> Errors
    {
        get { lock (_requests) return [.. _errors]; }
    }

    private async Task Loop()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext ctx;
            try
            {
                ctx = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            try
            {
                var body = new MemoryStream();
                Stream input = ctx.Request.InputStream;
                if (ctx.Request.Headers["Content-Encoding"] == "gzip") input = new GZipStream(input, CompressionMode.Decompress);
                input.CopyTo(body);
                string? problem = ctx.Request.HttpMethod != "POST" ? $"method {ctx.Request.HttpMethod}"
                    : ctx.Request.Url?.AbsolutePath != "/v1/metrics" ? $"path {ctx.Request.Url?.AbsolutePath}"
                    : ctx.Request.ContentType != "application/x-protobuf" ? $"content type {ctx.Request.ContentType}"
                    : null;
                lock (_requests)
                {
                    if (problem is not null) _errors.Add(problem);
                    else _requests.Add(Decode(body.ToArray()));
                }
                ctx.Response.StatusCode = problem is null ? 200 : 400;
                ctx.Response.ContentType = "application/x-protobuf";
            }
            catch (Exception e) when (e is FormatException or IOException or InvalidDataException)
            {
                lock (_requests) _errors.Add(e.Message);
                ctx.Response.StatusCode = 400;
            }
            ctx.Response.Close();
        }
    }

    /// <summary>Points of <paramref name="metric"/> in the latest request that has any.</summary>
    public List<OtlpPoint> Latest(string metric)
    {
        foreach (var r in Enumerable.Reverse(Requests))
        {
            var points = r.Points.Where(p => p.Metric == metric).ToList();
            if (points.Count > 0) return points;
        }
        return [];
    }

    public static OtlpRequest Decode(byte[] data)
    {
        var resource = new Dictionary<string, string>(StringComparer.Ordinal);
        var points = new List<OtlpPoint>();
        foreach (var (field, rm) in Fields(data))
        {
            if (field != 1) continue; // resource_metrics
            foreach (var (f, v) in Fields(rm.Bytes))
            {
                if (f == 1) // resource
                {
                    foreach (var (rf, kv) in Fields(v.Bytes))
                        if (rf == 1) Attribute(kv.Bytes, resource);
                }
                else if (f == 2) // scope_metrics
                {
                    foreach (var (sf, metric) in Fields(v.Bytes))
                        if (sf == 2) Metric(metric.Bytes, points);
                }
            }
        }
        return new OtlpRequest(resource, points);
    }

    private static void Metric(ReadOnlyMemory<byte> data, List<OtlpPoint> points)
    {
        string name = "";
        foreach (var (f, v) in Fields(data))
        {
            if (f == 1) name = Encoding.UTF8.GetString(v.Bytes.Span);
            else if (f is 5 or 7) // gauge, sum
            {
                bool monotonic = false;
                var raw = new List<ReadOnlyMemory<byte>>();
                foreach (var (df, dv) in Fields(v.Bytes))
                {
                    if (df == 1) raw.Add(dv.Bytes);
                    else if (df == 3) monotonic = dv.Number != 0;
                }
                foreach (var dp in raw) points.Add(Point(name, f == 5 ? "gauge" : "sum", monotonic, dp));
            }
            else if (f is 9 or 10 or 11) points.Add(new OtlpPoint(name, "histogram", false, new Dictionary<string, string>(), double.NaN));
        }
    }

    private static OtlpPoint Point(string metric, string kind, bool monotonic, ReadOnlyMemory<byte> data)
    {
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        double value = double.NaN;
        foreach (var (f, v) in Fields(data))
        {
            if (f == 7) Attribute(v.Bytes, attributes);
            else if (f == 4) value = BitConverter.Int64BitsToDouble((long)v.Number); // as_double
            else if (f == 6) value = (long)v.Number; // as_int
        }
        return new OtlpPoint(metric, kind, monotonic, attributes, value);
    }

    private static void Attribute(ReadOnlyMemory<byte> kv, Dictionary<string, string> into)
    {
        string key = "", value = "";
        foreach (var (f, v) in Fields(kv))
        {
            if (f == 1) key = Encoding.UTF8.GetString(v.Bytes.Span);
            else if (f == 2)
            {
                foreach (var (af, av) in Fields(v.Bytes))
                {
                    value = af switch
                    {
                        1 => Encoding.UTF8.GetString(av.Bytes.Span),
                        2 or 3 => ((long)av.Number).ToString(System.Globalization.CultureInfo.InvariantCulture),
                        4 => BitConverter.Int64BitsToDouble((long)av.Number).ToString("R", System.Globalization.CultureInfo.InvariantCulture),
                        _ => value,
                    };
                }
            }
        }
        into[key] = value;
    }

    private readonly record struct Value(ulong Number, ReadOnlyMemory<byte> Bytes);

    /// <summary>The protobuf wire format: (field number, value) pairs; varints and fixed64/32 as numbers,
    /// length-delimited fields as bytes.</summary>
    private static List<(int Field, Value Value)> Fields(ReadOnlyMemory<byte> data)
    {
        var result = new List<(int, Value)>();
        var span = data.Span;
        int pos = 0;
        while (pos < span.Length)
        {
            ulong tag = Varint(span, ref pos);
            int field = (int)(tag >> 3);
            switch ((int)(tag & 7))
            {
                case 0:
                    result.Add((field, new Value(Varint(span, ref pos), default)));
                    break;
                case 1:
                    Need(span, pos, 8);
                    result.Add((field, new Value(BitConverter.ToUInt64(span.Slice(pos, 8)), default)));
                    pos += 8;
                    break;
                case 2:
                    int len = checked((int)Varint(span, ref pos));
                    Need(span, pos, len);
                    result.Add((field, new Value(0, data.Slice(pos, len))));
                    pos += len;
                    break;
                case 5:
                    Need(span, pos, 4);
                    result.Add((field, new Value(BitConverter.ToUInt32(span.Slice(pos, 4)), default)));
                    pos += 4;
                    break;
                default:
                    throw new FormatException($"protobuf wire type {tag & 7} at byte {pos}");
            }
        }
        return result;
    }

    private static void Need(ReadOnlySpan<byte> span, int pos, int n)
    {
        if (n < 0 || pos + n > span.Length) throw new FormatException($"protobuf field of {n} bytes at {pos} runs past the end ({span.Length})");
    }

    private static ulong Varint(ReadOnlySpan<byte> span, ref int pos)
    {
        ulong value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            Need(span, pos, 1);
            byte b = span[pos++];
            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80) return value;
        }
        throw new FormatException("varint longer than 10 bytes");
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        _loop.Wait(TimeSpan.FromSeconds(5));
    }
}
