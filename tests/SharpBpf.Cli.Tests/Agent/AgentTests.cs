using SharpBpf.Cli.Agent;
using SharpBpf.TestUtilities;

namespace SharpBpf.Cli.Tests.Agent;

/// <summary><c>sharpbpf agent</c> as a child process, scraped over HTTP while the test causes syscalls; SIGTERM
/// leaves nothing behind (and pins only what <c>pin: true</c> asked for).</summary>
[Collection(KernelCollection.Name)]
public class AgentTests
{
    private static readonly string[] ToolPrograms =
        ["sys_enter", "sys_exit", "block_rq_issue", "block_rq_complete", "sched_wakeup", "sched_wakeup_new", "sched_switch"];

    [Fact]
    public void BuiltInToolsExportCountersAndHistograms()
    {
        KernelTest.Require();
        int port = AgentProcess.FreePort();
        using var agent = AgentProcess.Start($"listen: 127.0.0.1:{port}\nprograms:\n  - tool: syscount\n  - tool: runqlat\n  - tool: biolatency\n", out string config);
        try
        {
            Assert.Equal("ok\n", AgentProcess.Get(port, "/healthz"));
            var first = AgentProcess.Scrape(port);
            double execs = first.GetValueOrDefault("syscalls_total{syscall=\"execve\"}");
            AgentProcess.RunTrue(5);
            var later = AgentProcess.ScrapeUntil(port, s => s.GetValueOrDefault("syscalls_total{syscall=\"execve\"}") >= execs + 5, "5 more execve");
            Assert.True(later.GetValueOrDefault("syscall_seconds_total{syscall=\"execve\"}") > 0);
            Assert.True(later["runq_latency_seconds_count"] > 0);
            Assert.Equal(later["runq_latency_seconds_count"], later["runq_latency_seconds_bucket{le=\"+Inf\"}"]);
            Assert.True(later.ContainsKey("runq_latency_seconds_bucket{le=\"2E-06\"}"), "the first log2 bucket is 2 us");
            Assert.True(later.ContainsKey("bio_latency_seconds_count"));
            Assert.Contains("not found", Assert.Throws<HttpRequestException>(() => AgentProcess.Get(port, "/nope")).Message, StringComparison.OrdinalIgnoreCase);
            Assert.Equal(0, agent.Stop("TERM"));
            agent.AssertNothingLeft(ToolPrograms);
            Assert.Throws<HttpRequestException>(() => AgentProcess.Get(port, "/healthz"));
        }
        finally
        {
            File.Delete(config);
        }
    }

    [Fact]
    public void PortInUseIsARuntimeErrorAndReleasesEverything()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var busy = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        busy.Start();
        int port = ((System.Net.IPEndPoint)busy.LocalEndpoint).Port;
        string config = Path.Combine(Path.GetTempPath(), $"sharpbpf-agent-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(config, $"listen: 127.0.0.1:{port}\nprograms:\n  - tool: syscount\n");
        try
        {
            var links = Links.BpfLink.EnumerateIds().ToHashSet();
            var r = CliRunner.Run("agent", "--config", config);
            Assert.Equal(1, r.ExitCode);
            Assert.StartsWith($"sharpbpf: error: cannot listen on 127.0.0.1:{port}", r.Stderr);
            Assert.Single(r.Stderr.TrimEnd('\n').Split('\n'));
            Assert.DoesNotContain(Links.BpfLink.EnumerateIds().Where(id => !links.Contains(id)), id =>
            {
                try
                {
                    using var l = Links.BpfLink.FromId(id);
                    using var p = Programs.BpfProgram.FromId(l.ProgramId);
                    return p.GetInfo().Name is "sys_enter" or "sys_exit";
                }
                catch (BpfException)
                {
                    return false;
                }
            });
        }
        finally
        {
            File.Delete(config);
        }
    }

    private static string ObjectConfig(int port, string name, bool pin) => $"""
        listen: 127.0.0.1:{port}
        programs:
          - name: {name}
            object: {AgentConfigTests.Object("agent_counts.bpf.o")}
            pin: {(pin ? "true" : "false")}
            metrics:
              - name: agent_test_syscalls
                type: counter
                help: syscalls by comm, name and kind
                map: counts
                value: calls
                labels:
                  - {"{"} name: comm, field: comm {"}"}
                  - {"{"} name: syscall, field: nr, decoder: syscall {"}"}
                  - {"{"} name: kind, field: kind {"}"}
              - name: agent_test_nr
                type: histogram
                map: nr_hist
                labels:
                  - {"{"} name: kind {"}"}
        """;

    [Fact]
    public void UserObjectLabelsDecodedThroughBtf()
    {
        KernelTest.Require();
        int port = AgentProcess.FreePort();
        string name = "agent-test-" + Guid.NewGuid().ToString("N")[..8];
        using var agent = AgentProcess.Start(ObjectConfig(port, name, pin: false), out string config);
        try
        {
            AgentProcess.RunTrue(3);
            // comm from a char[16], syscall name from the u32 via the syscall decoder, kind from the enum's BTF
            var s = AgentProcess.ScrapeUntil(port,
                s => s.GetValueOrDefault("agent_test_syscalls_total{comm=\"true\",syscall=\"exit_group\",kind=\"KIND_HIGH\"}") >= 3,
                "3 exit_group calls of comm 'true'");
            Assert.True(s.GetValueOrDefault("agent_test_syscalls_total{comm=\"true\",syscall=\"brk\",kind=\"KIND_LOW\"}") >= 3);
            // per-CPU histogram slots summed over CPUs: exit_group is 231, in the bucket le=256 (128 <= 231 < 256)
            double le128 = s["agent_test_nr_bucket{kind=\"KIND_HIGH\",le=\"128\"}"];
            double le256 = s["agent_test_nr_bucket{kind=\"KIND_HIGH\",le=\"256\"}"];
            Assert.True(le256 - le128 >= 3, $"le=256 {le256}, le=128 {le128}");
            Assert.Equal(0, s["agent_test_nr_bucket{kind=\"KIND_LOW\",le=\"+Inf\"}"] - s["agent_test_nr_count{kind=\"KIND_LOW\"}"]);
            Assert.Equal(0, agent.Stop("INT"));
            agent.AssertNothingLeft("count_sys_enter");
            Assert.False(Directory.Exists(Path.Combine(MetricsAgent.PinRoot, name)), "nothing is pinned without pin: true");
        }
        finally
        {
            File.Delete(config);
        }
    }

    [Fact]
    public void PinnedCountersSurviveARestart()
    {
        KernelTest.Require();
        int port = AgentProcess.FreePort();
        string name = "agent-test-" + Guid.NewGuid().ToString("N")[..8];
        string pinDir = Path.Combine(MetricsAgent.PinRoot, name);
        string yaml = ObjectConfig(port, name, pin: true);
        string? config1 = null, config2 = null;
        try
        {
            double before;
            using (var agent = AgentProcess.Start(yaml, out config1))
            {
                AgentProcess.RunTrue(3);
                var s = AgentProcess.ScrapeUntil(port, s => AgentProcess.Sum(s, "agent_test_syscalls_total{comm=\"true\"") > 0, "calls of comm 'true'");
                Assert.Equal(0, agent.Stop("TERM"));
                agent.AssertNothingLeft("count_sys_enter");
                before = AgentProcess.Sum(s, "agent_test_syscalls_total{comm=\"true\"");
            }
            Assert.True(File.Exists(Path.Combine(pinDir, "counts")), "pin: true keeps the metric maps pinned");
            Assert.True(File.Exists(Path.Combine(pinDir, "nr_hist")));
            Assert.False(File.Exists(Path.Combine(pinDir, "start")));
            using (var agent = AgentProcess.Start(yaml, out config2))
            {
                // the restarted agent reuses the pinned maps: the count did not start again from zero
                var s = AgentProcess.Scrape(port);
                Assert.True(AgentProcess.Sum(s, "agent_test_syscalls_total{comm=\"true\"") >= before);
                Assert.Equal(0, agent.Stop("TERM"));
                agent.AssertNothingLeft("count_sys_enter");
            }
        }
        finally
        {
            foreach (var f in new[] { config1, config2 })
                if (f is not null) File.Delete(f);
            if (Directory.Exists(pinDir))
            {
                foreach (var f in Directory.GetFiles(pinDir)) File.Delete(f);
                Directory.Delete(pinDir);
            }
        }
    }

    [Fact]
    public void OtlpExportPushesTheSameMetricsToACollector()
    {
        KernelTest.Require();
        int port = AgentProcess.FreePort(), otlpPort = AgentProcess.FreePort();
        using var receiver = new OtlpReceiver(otlpPort);
        string name = "agent-test-" + Guid.NewGuid().ToString("N")[..8];
        string yaml = ObjectConfig(port, name, pin: false) + $"\notlp:\n  endpoint: http://127.0.0.1:{otlpPort}\n  interval: 300ms\n";
        using var agent = AgentProcess.Start(yaml, out string config);
        try
        {
            AgentProcess.RunTrue(3);
            var labels = new Dictionary<string, string> { ["comm"] = "true", ["syscall"] = "exit_group", ["kind"] = "KIND_HIGH" };
            OtlpPoint? exits = null;
            var until = DateTime.UtcNow.AddSeconds(20);
            while ((exits = receiver.Latest("agent_test_syscalls").FirstOrDefault(p => Matches(p, labels) && p.Value >= 3)) is null && DateTime.UtcNow < until)
                Thread.Sleep(200);
            Assert.True(exits is not null, $"no OTLP point with 3 exit_group calls of comm 'true' within 20 s; {receiver.Requests.Count} requests, errors: {string.Join("; ", receiver.Errors)}");
            Assert.Equal("sum", exits.Kind);
            Assert.True(exits.Monotonic, "a counter is a monotonic sum");
            // the Prometheus endpoint reads the same map: it can only have counted more since
            var scraped = AgentProcess.Scrape(port);
            Assert.True(scraped["agent_test_syscalls_total{comm=\"true\",syscall=\"exit_group\",kind=\"KIND_HIGH\"}"] >= exits.Value);
            // a histogram goes out as cumulative le buckets plus count and sum, read from one map walk
            var request = receiver.Requests.LastOrDefault(r => r.Points.Any(p => p.Metric == "agent_test_nr_bucket"));
            Assert.True(request is not null, $"no histogram buckets exported; metrics seen: {string.Join(", ", receiver.Requests.SelectMany(r => r.Points).Select(p => p.Metric).Distinct())}");
            var high = request.Points.Where(p => p.Attributes.GetValueOrDefault("kind") == "KIND_HIGH").ToList();
            double Bucket(string le) => high.Single(p => p.Metric == "agent_test_nr_bucket" && p.Attributes["le"] == le).Value;
            Assert.True(Bucket("256") - Bucket("128") >= 3, "exit_group (231) lies in the bucket le=256");
            Assert.Equal(Bucket("+Inf"), high.Single(p => p.Metric == "agent_test_nr_count").Value);
            Assert.True(high.Single(p => p.Metric == "agent_test_nr_sum").Value > 0);
            Assert.Equal("sharpbpf-agent", request.Resource["service.name"]);
            Assert.Empty(receiver.Errors);
            int before = receiver.Requests.Count;
            Assert.Equal(0, agent.Stop("TERM"));
            agent.AssertNothingLeft("count_sys_enter");
            Assert.True(receiver.Requests.Count > before, "stopping exports once more");
        }
        finally
        {
            File.Delete(config);
        }
    }

    private static bool Matches(OtlpPoint p, Dictionary<string, string> labels) =>
        labels.All(kv => p.Attributes.GetValueOrDefault(kv.Key) == kv.Value) && p.Attributes.Count == labels.Count;
}
