using System.Globalization;
using System.Net;
using System.Net.Sockets;
using SharpBpf.Cli.Tests.Tools;

namespace SharpBpf.Cli.Tests.Agent;

/// <summary>Helpers for running <c>sharpbpf agent</c> as a child process and reading its /metrics.</summary>
internal static class AgentProcess
{
    public static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    /// <summary>Writes <paramref name="yaml"/> to a temporary file and starts the agent on it.</summary>
    public static ToolProcess Start(string yaml, out string configPath)
    {
        configPath = Path.Combine(Path.GetTempPath(), $"sharpbpf-agent-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(configPath, yaml);
        return ToolProcess.Start("agent", "--config", configPath);
    }

    public static string Get(int port, string path) =>
        Http.GetStringAsync($"http://127.0.0.1:{port}{path}").GetAwaiter().GetResult();

    /// <summary>Scrapes /metrics and checks the exposition rules on the way: every sample belongs to a family
    /// announced by HELP and TYPE lines, counters end in _total, histogram buckets are cumulative and end in
    /// le="+Inf" equal to _count. Returns sample name{labels} → value.</summary>
    public static Dictionary<string, double> Scrape(int port)
    {
        var response = Http.GetAsync($"http://127.0.0.1:{port}/metrics").GetAwaiter().GetResult();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        string text = response.Content.ReadAsStringAsync().GetAwaiter().GetResult();
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        string? family = null, type = null;
        var helped = new HashSet<string>(StringComparer.Ordinal);
        var lastBucket = new Dictionary<string, double>(StringComparer.Ordinal);
        var infBuckets = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith("# HELP ", StringComparison.Ordinal))
            {
                family = line.Split(' ')[2];
                Assert.True(helped.Add(family), $"family {family} announced twice");
                type = null;
                lastBucket.Clear();
                continue;
            }
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var parts = line.Split(' ');
                Assert.Equal(family, parts[2]);
                type = parts[3];
                Assert.Contains(type, new[] { "counter", "gauge", "histogram" });
                if (type == "counter") Assert.EndsWith("_total", family);
                continue;
            }
            Assert.NotNull(type);
            int space = line.LastIndexOf(' ');
            string series = line[..space];
            string name = series.Split('{')[0];
            double value = line[(space + 1)..] switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                var v => double.Parse(v, CultureInfo.InvariantCulture),
            };
            if (type == "histogram")
            {
                Assert.True(name == family + "_bucket" || name == family + "_sum" || name == family + "_count", $"{name} in histogram {family}");
                string labels = series[name.Length..];
                if (name.EndsWith("_bucket", StringComparison.Ordinal))
                {
                    // our writer puts le last: strip it to get the series' own labels
                    int le = labels.LastIndexOf("le=\"", StringComparison.Ordinal);
                    Assert.True(le > 0, $"bucket without le: {line}");
                    string own = labels[..(le - 1)] + (labels[le - 1] == ',' ? "}" : "");
                    if (own == "}") own = "";
                    if (lastBucket.TryGetValue(own, out double previous)) Assert.True(value >= previous, $"buckets not cumulative at {line}");
                    lastBucket[own] = value;
                    if (labels.EndsWith("le=\"+Inf\"}", StringComparison.Ordinal)) infBuckets[family + own] = value;
                }
                if (name == family + "_count")
                {
                    Assert.True(infBuckets.TryGetValue(family + labels, out double infCount), $"no +Inf bucket before {line}");
                    Assert.Equal(infCount, value);
                    lastBucket.Remove(labels);
                }
            }
            else
            {
                Assert.Equal(family, name);
            }
            Assert.True(samples.TryAdd(series, value), $"duplicate series {series}");
        }
        return samples;
    }

    public static double Sum(Dictionary<string, double> samples, string prefix) =>
        samples.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal)).Sum(kv => kv.Value);

    /// <summary>Waits until <paramref name="check"/> holds for a scrape; fails with the last scrape otherwise.</summary>
    public static Dictionary<string, double> ScrapeUntil(int port, Func<Dictionary<string, double>, bool> check, string what, int seconds = 20)
    {
        var until = DateTime.UtcNow.AddSeconds(seconds);
        Dictionary<string, double> last;
        while (!check(last = Scrape(port)))
        {
            if (DateTime.UtcNow > until)
                Assert.Fail($"{what} not seen within {seconds} s; last scrape:\n{string.Join('\n', last.Take(40).Select(kv => $"{kv.Key} {kv.Value}"))}");
            Thread.Sleep(200);
        }
        return last;
    }

    public static void RunTrue(int times)
    {
        for (int i = 0; i < times; i++)
        {
            using var p = System.Diagnostics.Process.Start("/bin/true")!;
            p.WaitForExit();
        }
    }
}
