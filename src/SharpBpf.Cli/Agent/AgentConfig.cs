using System.Globalization;
using System.Net;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace SharpBpf.Cli.Agent;

/// <summary>The kind of a Prometheus metric the agent exposes.</summary>
internal enum MetricKind
{
    Counter,
    Gauge,
    Histogram,
}

/// <summary>How a key field becomes a label value.</summary>
internal enum LabelDecoder
{
    /// <summary>Integers in decimal, enums by enumerator name, char arrays as C strings.</summary>
    Auto,

    /// <summary>A syscall number (x86-64) by name.</summary>
    Syscall,
}

/// <summary>One label: a field of the map key (or the whole key when <see cref="Field"/> is null).</summary>
internal sealed record LabelConfig(string Name, string? Field, LabelDecoder Decoder);

/// <summary>One metric read from a map at scrape time.</summary>
/// <param name="Name">The metric name (counters get <c>_total</c> appended when missing).</param>
/// <param name="Value">The value struct member to read; null when the value is the number itself (or, for
/// histograms, the u64 slot array).</param>
/// <param name="Scale">Histograms: multiplies the bucket bounds (e.g. 1e-6 for microsecond slots exposed in seconds).</param>
internal sealed record MetricConfig(string Name, string Help, MetricKind Kind, string Map, IReadOnlyList<LabelConfig> Labels,
    string? Value, double Scale)
{
    /// <summary>file:line and key path of the definition, for errors found when the object is loaded.</summary>
    public string Where { get; init; } = "";
}

/// <summary>One configured program: a built-in tool or a user object, with its metrics.</summary>
internal sealed record ProgramConfig(string Name, string? Tool, string? Object, bool Pin, IReadOnlyList<MetricConfig> Metrics, int Line);

/// <summary>Optional OTLP push of the same metrics (OpenTelemetry's exporter).</summary>
/// <param name="Endpoint">The collector's URL; for http/protobuf a bare base URL gets <c>/v1/metrics</c>.</param>
/// <param name="Grpc">OTLP over gRPC instead of HTTP with protobuf bodies.</param>
/// <param name="Interval">Time between exports.</param>
/// <param name="Headers">Extra request headers (e.g. authorization).</param>
internal sealed record OtlpConfig(Uri Endpoint, bool Grpc, TimeSpan Interval, IReadOnlyList<KeyValuePair<string, string>> Headers)
{
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(15);
}

/// <summary>The agent's configuration (<c>sharpbpf agent --config agent.yaml</c>).</summary>
internal sealed record AgentConfig(IPEndPoint Listen, IReadOnlyList<ProgramConfig> Programs, OtlpConfig? Otlp = null)
{
    public const string DefaultListen = "127.0.0.1:9435";

    /// <summary>The built-in tools the agent can run, with the metrics each one has.</summary>
    public static readonly IReadOnlyDictionary<string, MetricConfig[]> Tools = new Dictionary<string, MetricConfig[]>(StringComparer.Ordinal)
    {
        ["syscount"] =
        [
            new("syscalls_total", "System calls, by syscall (tracepoints raw_syscalls:sys_enter/sys_exit)", MetricKind.Counter, "data",
                [new LabelConfig("syscall", null, LabelDecoder.Syscall)], "count", 1),
            new("syscall_seconds_total", "Time spent in system calls, by syscall", MetricKind.Counter, "data",
                [new LabelConfig("syscall", null, LabelDecoder.Syscall)], "total_ns", 1e-9),
        ],
        ["biolatency"] =
        [
            new("bio_latency_seconds", "Block I/O latency from issue to completion (log2 buckets)", MetricKind.Histogram, "hists", [], null, 1e-6),
        ],
        ["runqlat"] =
        [
            new("runq_latency_seconds", "Scheduler run queue latency (log2 buckets)", MetricKind.Histogram, "hists", [], null, 1e-6),
        ],
    };

    /// <summary>Reads and checks <paramref name="path"/>; every error is a <see cref="UsageException"/> naming
    /// file:line and the key.</summary>
    public static AgentConfig Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"{path}: cannot read the config: {e.Message}");
        }
        return Parse(text, path);
    }

    public static AgentConfig Parse(string text, string file)
    {
        var yaml = new YamlStream();
        try
        {
            yaml.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw new UsageException($"{file}:{e.Start.Line}: invalid YAML: {FirstLine(e.Message)}");
        }
        var p = new Parser(file);
        if (yaml.Documents.Count == 0 || yaml.Documents[0].RootNode is not YamlMappingNode root)
            throw new UsageException($"{file}:1: the config must be a mapping with 'programs' (and optionally 'listen')");
        return p.Root(root);
    }

    private static string FirstLine(string s)
    {
        int nl = s.IndexOf('\n');
        return nl < 0 ? s : s[..nl];
    }

    private sealed class Parser(string file)
    {
        private UsageException Error(YamlNode node, string key, string message) =>
            new($"{file}:{node.Start.Line}: {key}: {message}");

        private void CheckKeys(YamlMappingNode map, string path, params string[] allowed)
        {
            foreach (var (k, _) in map.Children)
            {
                string name = k is YamlScalarNode s ? s.Value ?? "" : "";
                if (Array.IndexOf(allowed, name) < 0)
                    throw Error(k, Join(path, name), $"unknown key (expected one of: {string.Join(", ", allowed)})");
            }
        }

        private static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";

        private static YamlNode? Get(YamlMappingNode map, string key) =>
            map.Children.TryGetValue(new YamlScalarNode(key), out var v) ? v : null;

        private string? Scalar(YamlMappingNode map, string path, string key)
        {
            var node = Get(map, key);
            if (node is null) return null;
            if (node is not YamlScalarNode s || string.IsNullOrEmpty(s.Value))
                throw Error(node, Join(path, key), "expected a non-empty scalar value");
            return s.Value;
        }

        private string Required(YamlMappingNode map, string path, string key) =>
            Scalar(map, path, key) ?? throw Error(map, Join(path, key), "missing (required)");

        private bool Bool(YamlMappingNode map, string path, string key)
        {
            string? v = Scalar(map, path, key);
            return v switch
            {
                null or "false" or "no" => false,
                "true" or "yes" => true,
                _ => throw Error(Get(map, key)!, Join(path, key), $"expected true or false, got '{v}'"),
            };
        }

        private YamlSequenceNode? Sequence(YamlMappingNode map, string path, string key)
        {
            var node = Get(map, key);
            if (node is null) return null;
            return node as YamlSequenceNode ?? throw Error(node, Join(path, key), "expected a list");
        }

        private YamlMappingNode Mapping(YamlNode node, string path) =>
            node as YamlMappingNode ?? throw Error(node, path, "expected a mapping");

        public AgentConfig Root(YamlMappingNode root)
        {
            CheckKeys(root, "", "listen", "programs", "otlp");
            string listen = Scalar(root, "", "listen") ?? DefaultListen;
            if (!IPEndPoint.TryParse(listen, out var endpoint) || endpoint.Port == 0)
                throw Error(Get(root, "listen")!, "listen", $"expected ADDRESS:PORT (e.g. {DefaultListen}), got '{listen}'");
            var list = Sequence(root, "", "programs") ?? throw Error(root, "programs", "missing (required): the programs to load");
            if (list.Children.Count == 0) throw Error(list, "programs", "the list is empty");
            var programs = new List<ProgramConfig>();
            var names = new HashSet<string>(StringComparer.Ordinal);
            for (int i = 0; i < list.Children.Count; i++)
            {
                var pc = Program(Mapping(list.Children[i], $"programs[{i}]"), $"programs[{i}]");
                if (!names.Add(pc.Name))
                    throw Error(list.Children[i], $"programs[{i}].name", $"'{pc.Name}' is used twice");
                programs.Add(pc);
            }
            var otlp = Get(root, "otlp") is { } o ? Otlp(Mapping(o, "otlp"), "otlp") : null;
            return new AgentConfig(endpoint, programs, otlp);
        }

        private OtlpConfig Otlp(YamlMappingNode map, string path)
        {
            CheckKeys(map, path, "endpoint", "protocol", "interval", "headers");
            string url = Required(map, path, "endpoint");
            if (!Uri.TryCreate(url, UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https"))
                throw Error(Get(map, "endpoint")!, Join(path, "endpoint"), $"expected an http:// or https:// URL, got '{url}'");
            string protocol = Scalar(map, path, "protocol") ?? "http/protobuf";
            bool grpc = protocol switch
            {
                "http/protobuf" => false,
                "grpc" => true,
                _ => throw Error(Get(map, "protocol")!, Join(path, "protocol"), $"unknown protocol '{protocol}' (http/protobuf or grpc)"),
            };
            // the exporter takes the URL as given when it is set in code: add the signal path to a bare base URL
            if (!grpc && endpoint.AbsolutePath == "/") endpoint = new Uri(endpoint, "v1/metrics");
            var interval = OtlpConfig.DefaultInterval;
            if (Scalar(map, path, "interval") is { } text && (!TryDuration(text, out interval) || interval < TimeSpan.FromMilliseconds(100) || interval > TimeSpan.FromDays(1)))
                throw Error(Get(map, "interval")!, Join(path, "interval"), $"expected a duration between 100ms and 24h such as 15s, 500ms or 1m, got '{text}'");
            var headers = new List<KeyValuePair<string, string>>();
            if (Get(map, "headers") is { } h)
            {
                foreach (var (k, v) in Mapping(h, Join(path, "headers")).Children)
                {
                    string name = (k as YamlScalarNode)?.Value ?? "";
                    if (name.Length == 0 || name.Any(c => c is ',' or '=' or ':' || char.IsWhiteSpace(c) || char.IsControl(c)))
                        throw Error(k, Join(path, "headers"), $"'{name}' is not a valid header name");
                    if (v is not YamlScalarNode { Value: { } value } || value.Contains(',') || value.Any(char.IsControl))
                        throw Error(v, Join(path, $"headers.{name}"), "expected a header value without commas or control characters");
                    headers.Add(new(name, value));
                }
            }
            return new OtlpConfig(endpoint, grpc, interval, headers);
        }

        private static bool TryDuration(string text, out TimeSpan value)
        {
            value = default;
            (string number, double unit) = text.EndsWith("ms", StringComparison.Ordinal) ? (text[..^2], 1e-3)
                : text.EndsWith('s') ? (text[..^1], 1)
                : text.EndsWith('m') ? (text[..^1], 60)
                : text.EndsWith('h') ? (text[..^1], 3600)
                : (text, 1);
            if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out double n) || !double.IsFinite(n)) return false;
            double seconds = n * unit;
            if (seconds is < 0 or > 1e7) return false;
            value = TimeSpan.FromSeconds(seconds);
            return true;
        }

        private ProgramConfig Program(YamlMappingNode map, string path)
        {
            CheckKeys(map, path, "name", "tool", "object", "pin", "metrics");
            string? tool = Scalar(map, path, "tool");
            string? obj = Scalar(map, path, "object");
            if ((tool is null) == (obj is null))
                throw Error(map, path, "needs exactly one of 'tool' (a built-in tool) or 'object' (a .bpf.o file)");
            string name = Scalar(map, path, "name") ?? tool ?? Path.GetFileNameWithoutExtension(Path.GetFileNameWithoutExtension(obj!));
            if (!IsName(name, allowDash: true))
                throw Error(Get(map, "name") ?? map, Join(path, "name"), $"'{name}' must be letters, digits, '_' or '-'");
            bool pin = Bool(map, path, "pin");
            var metricsNode = Sequence(map, path, "metrics");
            List<MetricConfig> metrics;
            if (tool is not null)
            {
                if (!Tools.TryGetValue(tool, out var builtIn))
                    throw Error(Get(map, "tool")!, Join(path, "tool"), $"unknown tool '{tool}' (agent tools: {string.Join(", ", Tools.Keys)})");
                if (metricsNode is not null)
                    throw Error(metricsNode, Join(path, "metrics"), "built-in tools define their own metrics");
                metrics = [.. builtIn.Select(m => m with { Where = $"{file}:{map.Start.Line}: {path}" })];
            }
            else
            {
                if (!File.Exists(obj))
                    throw Error(Get(map, "object")!, Join(path, "object"), $"no such file '{obj}'");
                if (metricsNode is null || metricsNode.Children.Count == 0)
                    throw Error(map, Join(path, "metrics"), "missing (required for an object): the metrics to read from its maps");
                metrics = [];
                for (int i = 0; i < metricsNode.Children.Count; i++)
                    metrics.Add(Metric(Mapping(metricsNode.Children[i], $"{path}.metrics[{i}]"), $"{path}.metrics[{i}]"));
            }
            return new ProgramConfig(name, tool, obj, pin, metrics, (int)map.Start.Line);
        }

        private MetricConfig Metric(YamlMappingNode map, string path)
        {
            CheckKeys(map, path, "name", "help", "type", "map", "labels", "value", "scale");
            string name = Required(map, path, "name");
            if (!IsName(name, allowDash: false))
                throw Error(Get(map, "name")!, Join(path, "name"), $"'{name}' is not a valid metric name ([a-zA-Z_][a-zA-Z0-9_]*)");
            string type = Required(map, path, "type");
            var kind = type switch
            {
                "counter" => MetricKind.Counter,
                "gauge" => MetricKind.Gauge,
                "histogram" => MetricKind.Histogram,
                _ => throw Error(Get(map, "type")!, Join(path, "type"), $"unknown type '{type}' (counter, gauge or histogram)"),
            };
            if (kind == MetricKind.Counter && !name.EndsWith("_total", StringComparison.Ordinal)) name += "_total";
            string mapName = Required(map, path, "map");
            string help = Scalar(map, path, "help") ?? $"map {mapName}";
            string? value = Scalar(map, path, "value");
            double scale = 1;
            if (Scalar(map, path, "scale") is { } s &&
                (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out scale) || !(scale > 0) || double.IsInfinity(scale)))
                throw Error(Get(map, "scale")!, Join(path, "scale"), $"expected a positive number, got '{s}'");
            var labels = new List<LabelConfig>();
            if (Sequence(map, path, "labels") is { } list)
            {
                for (int i = 0; i < list.Children.Count; i++)
                {
                    string lp = $"{path}.labels[{i}]";
                    var lm = Mapping(list.Children[i], lp);
                    CheckKeys(lm, lp, "name", "field", "decoder");
                    string ln = Required(lm, lp, "name");
                    if (!IsName(ln, allowDash: false) || ln.StartsWith("__", StringComparison.Ordinal) || ln == "le")
                        throw Error(Get(lm, "name")!, Join(lp, "name"), $"'{ln}' is not a valid label name");
                    string? decoder = Scalar(lm, lp, "decoder");
                    var dec = decoder switch
                    {
                        null or "auto" => LabelDecoder.Auto,
                        "syscall" => LabelDecoder.Syscall,
                        _ => throw Error(Get(lm, "decoder")!, Join(lp, "decoder"), $"unknown decoder '{decoder}' (auto or syscall)"),
                    };
                    labels.Add(new LabelConfig(ln, Scalar(lm, lp, "field"), dec));
                }
            }
            return new MetricConfig(name, help, kind, mapName, labels, value, scale) { Where = $"{file}:{map.Start.Line}: {path}" };
        }

        private static bool IsName(string s, bool allowDash)
        {
            if (s.Length == 0 || char.IsAsciiDigit(s[0])) return false;
            foreach (char c in s)
                if (!(char.IsAsciiLetterOrDigit(c) || c == '_' || (allowDash && c == '-'))) return false;
            return true;
        }
    }
}
