using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SharpBpf.TestUtilities;

namespace SharpBpf.Cli.Tests.Agent;

/// <summary>A real Prometheus server (Debian's <c>prometheus</c>) scrapes the agent every second; the test asks
/// Prometheus' HTTP API for metrics that rose while it caused syscalls and execs.</summary>
[Collection(KernelCollection.Name)]
public class PrometheusTests
{
    private static string? FindPrometheus()
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(':'))
            if (File.Exists(Path.Combine(dir, "prometheus"))) return Path.Combine(dir, "prometheus");
        return null;
    }

    private static JsonElement Query(int port, string query)
    {
        string json = AgentProcess.Http.GetStringAsync($"http://127.0.0.1:{port}/api/v1/query?query={Uri.EscapeDataString(query)}").GetAwaiter().GetResult();
        var root = JsonDocument.Parse(json).RootElement.Clone();
        Assert.Equal("success", root.GetProperty("status").GetString());
        return root.GetProperty("data").GetProperty("result");
    }

    /// <summary>The value of a one-series instant query, or null while Prometheus has none.</summary>
    private static double? Scalar(int port, string query)
    {
        var result = Query(port, query);
        if (result.GetArrayLength() == 0) return null;
        return double.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
    }

    private static double WaitFor(int port, string query, Func<double, bool> check, string what, Func<string> diagnostics, int seconds = 60)
    {
        var until = DateTime.UtcNow.AddSeconds(seconds);
        double? v = null;
        while (DateTime.UtcNow < until)
        {
            try
            {
                v = Scalar(port, query);
                if (v is { } x && check(x)) return x;
            }
            catch (HttpRequestException)
            {
                // Prometheus is still starting
            }
            Thread.Sleep(500);
        }
        Assert.Fail($"Prometheus: {what} ({query}) not seen within {seconds} s, last value {v?.ToString(CultureInfo.InvariantCulture) ?? "none"}\n{diagnostics()}");
        return 0;
    }

    [Fact]
    public void PrometheusScrapesTheAgentAndSeesCountersRise()
    {
        KernelTest.Require();
        string? prometheus = FindPrometheus();
        if (prometheus is null)
        {
            if (KernelTest.Required) Assert.Fail("prometheus is not installed (apt-get install prometheus)");
            Assert.Skip("prometheus is not installed (apt-get install prometheus)");
        }
        int agentPort = AgentProcess.FreePort(), promPort = AgentProcess.FreePort();
        string dir = Path.Combine(Path.GetTempPath(), $"sharpbpf-prom-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        string promConfig = Path.Combine(dir, "prometheus.yml");
        File.WriteAllText(promConfig, $"""
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            scrape_configs:
              - job_name: sharpbpf
                static_configs:
                  - targets: ['127.0.0.1:{agentPort}']
            """);
        using var agent = AgentProcess.Start($"listen: 127.0.0.1:{agentPort}\nprograms:\n  - tool: syscount\n  - tool: runqlat\n", out string agentConfig);
        var psi = new ProcessStartInfo(prometheus)
        {
            UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        foreach (string a in (string[])[$"--config.file={promConfig}", $"--storage.tsdb.path={Path.Combine(dir, "data")}",
                     $"--web.listen-address=127.0.0.1:{promPort}", "--log.level=warn"])
            psi.ArgumentList.Add(a);
        var promLog = new List<string>();
        using var prom = new Process { StartInfo = psi };
        prom.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null) lock (promLog) promLog.Add(e.Data);
        };
        prom.OutputDataReceived += (_, e) => { };
        string Diagnostics()
        {
            string targets;
            try
            {
                targets = AgentProcess.Http.GetStringAsync($"http://127.0.0.1:{promPort}/api/v1/targets").GetAwaiter().GetResult();
            }
            catch (HttpRequestException e)
            {
                targets = e.Message;
            }
            lock (promLog) return $"targets: {targets}\nprometheus log:\n{string.Join('\n', promLog.TakeLast(20))}\nagent: {agent.Stderr}";
        }
        try
        {
            prom.Start();
            prom.BeginErrorReadLine();
            prom.BeginOutputReadLine();
            // the target is up: Prometheus parsed our exposition
            WaitFor(promPort, "up{job=\"sharpbpf\"}", v => v == 1, "the agent target up", Diagnostics);
            double execs = WaitFor(promPort, "syscalls_total{job=\"sharpbpf\",syscall=\"execve\"}", v => v >= 0, "an execve count", Diagnostics);
            AgentProcess.RunTrue(10);
            WaitFor(promPort, "syscalls_total{job=\"sharpbpf\",syscall=\"execve\"}", v => v >= execs + 10, "10 more execve", Diagnostics);
            // the const histogram is usable by PromQL's histogram_quantile
            WaitFor(promPort, "histogram_quantile(0.5, runq_latency_seconds_bucket{job=\"sharpbpf\"})", v => v > 0 && v < 10,
                "a run queue latency median", Diagnostics);
            WaitFor(promPort, "scrape_samples_scraped{job=\"sharpbpf\"}", v => v > 30, "samples scraped", Diagnostics);
        }
        finally
        {
            if (!prom.HasExited)
            {
                prom.Kill(entireProcessTree: true);
                prom.WaitForExit();
            }
            File.Delete(agentConfig);
        }
        Assert.Equal(0, agent.Stop("TERM"));
        agent.AssertNothingLeft("sys_enter", "sys_exit", "sched_wakeup", "sched_wakeup_new", "sched_switch");
        Directory.Delete(dir, recursive: true);
    }
}
