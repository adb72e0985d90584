using System.Net;
using System.Net.Sockets;
using System.Text;
using SharpBpf.Cli.Tools;
using SharpBpf.Elf;
using SharpBpf.Links;
using SharpBpf.Maps;
using SharpBpf.Programs;

namespace SharpBpf.Cli.Agent;

/// <summary>
/// The running agent: every configured program loaded and attached, its metrics bound to its maps, and an HTTP
/// endpoint (System.Net.HttpListener) serving <c>/metrics</c> (read from the maps at scrape time) and
/// <c>/healthz</c>. Disposing detaches every link and unloads everything; maps of programs configured with
/// <c>pin: true</c> stay pinned under <see cref="PinRoot"/>/NAME/MAP so a restart continues their counts.
/// </summary>
internal sealed class MetricsAgent : IDisposable
{
    public const string PinRoot = "/sys/fs/bpf/sharpbpf-agent";

    private readonly List<(BpfCollection Collection, AttachedLinks Links)> _loaded = [];
    private readonly List<MapMetric> _metrics = [];
    private readonly Exposition _exposition = new();
    private readonly Lock _scrapeLock = new();
    private HttpListener? _listener;
    private long _scrapes;

    private MetricsAgent()
    {
    }

    /// <summary>Loads and attaches every program of <paramref name="config"/>; on a failure what was loaded is
    /// released again.</summary>
    public static MetricsAgent Start(AgentConfig config)
    {
        var agent = new MetricsAgent();
        try
        {
            foreach (var p in config.Programs) agent.Load(p);
            agent.Listen(config.Listen);
            return agent;
        }
        catch
        {
            agent.Dispose();
            throw;
        }
    }

    public string Prefix { get; private set; } = "";

    /// <summary>Every configured metric, bound to its map.</summary>
    public IReadOnlyList<MapMetric> Metrics => _metrics;

    private void Load(ProgramConfig p)
    {
        CollectionSpec spec = p.Tool is not null ? ToolSession.ReadSpec(p.Tool) : ElfReader.ReadFile(p.Object!);
        foreach (var m in p.Metrics)
            if (!spec.Maps.ContainsKey(m.Map))
                throw new UsageException($"{m.Where}: metric '{m.Name}': the object has no map '{m.Map}' (maps: {string.Join(", ", spec.Maps.Keys.Order(StringComparer.Ordinal))})");
        string pinDir = Path.Combine(PinRoot, p.Name);
        var replacements = new Dictionary<string, BpfMap>(StringComparer.Ordinal);
        var pinned = p.Pin ? p.Metrics.Select(m => m.Map).Distinct(StringComparer.Ordinal).ToList() : [];
        BpfCollection collection;
        try
        {
            foreach (string map in pinned)
            {
                string path = Path.Combine(pinDir, map);
                if (File.Exists(path)) replacements[map] = BpfMap.FromPinned(path);
            }
            try
            {
                collection = BpfCollection.Load(spec, new CollectionLoadOptions { MapReplacements = replacements });
            }
            catch (CollectionLoadException e)
            {
                string detail = e.InnerException is BpfVerifierException v ? v.ToString() : e.InnerException?.Message ?? e.Message;
                throw new InvalidOperationException($"program '{p.Name}': {e.Kind} '{e.Name}' failed to load: {detail}", e);
            }
        }
        finally
        {
            foreach (var m in replacements.Values) m.Dispose();
        }
        AttachedLinks links;
        try
        {
            foreach (string map in pinned)
            {
                string path = Path.Combine(pinDir, map);
                if (File.Exists(path)) continue;
                Pinning.BpfFs.EnsureMounted();
                Directory.CreateDirectory(pinDir);
                collection.Maps[map].Pin(path);
            }
            links = collection.AttachAll();
        }
        catch
        {
            collection.Dispose();
            throw;
        }
        _loaded.Add((collection, links));
        if (links.Count == 0)
            throw new InvalidOperationException($"program '{p.Name}': no program of the object could be attached from its section name");
        foreach (var m in p.Metrics)
            _metrics.Add(new MapMetric(m, collection.Maps[m.Map], spec.Maps[m.Map], spec.Btf));
    }

    private void Listen(IPEndPoint endpoint)
    {
        string host = endpoint.Address.Equals(IPAddress.Any) || endpoint.Address.Equals(IPAddress.IPv6Any) ? "+"
            : endpoint.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{endpoint.Address}]" : endpoint.Address.ToString();
        Prefix = $"http://{host}:{endpoint.Port}/";
        _listener = new HttpListener();
        _listener.Prefixes.Add(Prefix);
        try
        {
            _listener.Start();
        }
        catch (HttpListenerException e)
        {
            throw new InvalidOperationException($"cannot listen on {endpoint}: {e.Message}", e);
        }
    }

    /// <summary>The current exposition of every metric (what <c>/metrics</c> serves).</summary>
    public string Scrape()
    {
        lock (_scrapeLock)
        {
            _exposition.Clear();
            foreach (var m in _metrics) m.Write(_exposition);
            _scrapes++;
            return _exposition.ToString();
        }
    }

    /// <summary>Serves requests until <paramref name="ct"/> is cancelled.</summary>
    public async Task ServeAsync(CancellationToken ct)
    {
        var listener = _listener!;
        using var reg = ct.Register(() => listener.Stop());
        while (!ct.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                if (ct.IsCancellationRequested) break;
                if (!listener.IsListening) throw new InvalidOperationException($"the HTTP listener stopped: {e.Message}", e);
                Console.Error.WriteLine($"sharpbpf agent: accepting a request failed: {e.Message}");
                continue;
            }
            Handle(context);
        }
    }

    private void Handle(HttpListenerContext context)
    {
        var response = context.Response;
        try
        {
            string path = context.Request.Url?.AbsolutePath ?? "/";
            (int status, string type, string body) = (context.Request.HttpMethod, path) switch
            {
                ("GET" or "HEAD", "/metrics") => (200, Exposition.ContentType, Scrape()),
                ("GET" or "HEAD", "/healthz") => (200, "text/plain; charset=utf-8", "ok\n"),
                ("GET" or "HEAD", "/") => (200, "text/html; charset=utf-8",
                    "<html><head><title>sharpbpf agent</title></head><body><a href=\"/metrics\">/metrics</a> <a href=\"/healthz\">/healthz</a></body></html>\n"),
                (not ("GET" or "HEAD"), _) => (405, "text/plain; charset=utf-8", "method not allowed\n"),
                _ => (404, "text/plain; charset=utf-8", "not found\n"),
            };
            byte[] bytes = Encoding.UTF8.GetBytes(body);
            response.StatusCode = status;
            response.ContentType = type;
            response.ContentLength64 = bytes.Length;
            if (context.Request.HttpMethod != "HEAD") response.OutputStream.Write(bytes);
        }
        catch (Exception e) when (e is BpfException or HttpListenerException or IOException or InvalidOperationException or ArgumentException)
        {
            Console.Error.WriteLine($"sharpbpf agent: scrape failed: {e.Message}");
            try
            {
                response.StatusCode = 500;
            }
            catch (InvalidOperationException)
            {
                // headers already sent
            }
        }
        finally
        {
            try
            {
                response.Close();
            }
            catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException)
            {
                // the client went away
            }
        }
    }

    public void Dispose()
    {
        if (_listener is not null)
        {
            if (_listener.IsListening) _listener.Stop();
            _listener.Close();
            _listener = null;
        }
        for (int i = _loaded.Count - 1; i >= 0; i--)
        {
            _loaded[i].Links.Dispose();
            _loaded[i].Collection.Dispose();
        }
        _loaded.Clear();
        _metrics.Clear();
    }
}
