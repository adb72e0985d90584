using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using SharpBpf.Cli.Tools;
using SharpBpf.TestUtilities;

namespace SharpBpf.Cli.Tests.Tools;

/// <summary>
/// Each ready tool runs as a child process while the test causes the events it reports; its output must contain
/// them, and after SIGINT / SIGTERM / --duration it exits 0 leaving no program or link behind.
/// </summary>
[Collection(KernelCollection.Name)]
public class ToolTests
{
    private static int RunChild(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        p.StandardOutput.ReadToEnd();
        p.StandardError.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode;
    }

    [Fact]
    public void ExecsnoopShowsTheCommandsTheTestStarts()
    {
        KernelTest.Require();
        string marker = "sharpbpf-exec-" + Guid.NewGuid().ToString("N")[..8];
        using var tool = ToolProcess.Start("execsnoop", "--json", "-x");
        RunChild("/bin/true", marker, "second");
        RunChild("/bin/sh", "-c", "exec /nonexistent-" + marker); // sh calls execve, which fails
        var ok = tool.WaitFor(e => e.GetProperty("args").EnumerateArray().Any(a => a.GetString() == marker), $"args containing {marker}");
        Assert.Equal("true", ok.GetProperty("comm").GetString());
        Assert.Equal(0, ok.GetProperty("ret").GetInt32());
        Assert.Equal(["/bin/true", marker, "second"], ok.GetProperty("args").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal((uint)Environment.ProcessId, ok.GetProperty("ppid").GetUInt32());
        // -x: the failed exec of a missing file is reported with its error
        var failed = tool.WaitFor(e => e.GetProperty("args").EnumerateArray().FirstOrDefault().GetString() == "/nonexistent-" + marker, "the failed exec");
        Assert.Equal(-2, failed.GetProperty("ret").GetInt32()); // -ENOENT
        Assert.Equal(0, tool.Stop("INT"));
        tool.AssertNothingLeft("tracepoint__syscalls__sys_enter_execve", "tracepoint__syscalls__sys_exit_execve");
    }

    [Fact]
    public void ExecsnoopTextOutputHasColumnsAndEndsAfterItsDuration()
    {
        KernelTest.Require();
        string marker = "sharpbpf-text-" + Guid.NewGuid().ToString("N")[..8];
        using var tool = ToolProcess.Start("execsnoop", "--duration", "3");
        RunChild("/bin/true", marker);
        Assert.Equal(0, tool.WaitForExit());
        var lines = tool.Lines();
        Assert.StartsWith("PCOMM", lines[0]);
        Assert.Contains(lines, l => l.StartsWith("true ", StringComparison.Ordinal) && l.EndsWith("/bin/true " + marker, StringComparison.Ordinal));
    }

    [Fact]
    public void ExitsnoopReportsExitCodesAndSignals()
    {
        KernelTest.Require();
        using var tool = ToolProcess.Start("exitsnoop", "--json");
        int pid;
        using (var p = Process.Start("/bin/sh", ["-c", "exit 7"]))
        {
            pid = p.Id;
            p.WaitForExit();
        }
        int killed;
        using (var p = Process.Start("/bin/sleep", ["30"]))
        {
            killed = p.Id;
            p.Kill();
            p.WaitForExit();
        }
        var e = tool.WaitFor(e => e.GetProperty("pid").GetInt32() == pid, $"pid {pid}");
        Assert.Equal(7, e.GetProperty("exit_code").GetInt32());
        Assert.Equal(0, e.GetProperty("signal").GetInt32());
        Assert.Equal((uint)Environment.ProcessId, e.GetProperty("ppid").GetUInt32());
        var k = tool.WaitFor(e => e.GetProperty("pid").GetInt32() == killed, $"pid {killed}");
        Assert.Equal(9, k.GetProperty("signal").GetInt32());
        Assert.Equal("sleep", k.GetProperty("comm").GetString());
        Assert.Equal(0, tool.Stop("TERM"));
        tool.AssertNothingLeft("sched_process_exit");
    }

    [Fact]
    public void OpensnoopShowsPathsAndErrors()
    {
        KernelTest.Require();
        string missing = "/tmp/sharpbpf-open-" + Guid.NewGuid().ToString("N");
        using var tool = ToolProcess.Start("opensnoop", "--json", "--name", "cat");
        RunChild("/bin/cat", missing);
        RunChild("/bin/cat", "/etc/hostname");
        var e = tool.WaitFor(e => e.GetProperty("path").GetString() == missing, missing);
        Assert.Equal(2, e.GetProperty("err").GetInt32()); // ENOENT
        Assert.Equal(-1, e.GetProperty("fd").GetInt32());
        var ok = tool.WaitFor(e => e.GetProperty("path").GetString() == "/etc/hostname", "/etc/hostname");
        Assert.True(ok.GetProperty("fd").GetInt32() >= 0);
        Assert.Equal("cat", ok.GetProperty("comm").GetString());
        Assert.Equal(0, tool.Stop("INT"));
        tool.AssertNothingLeft("tracepoint__syscalls__sys_enter_openat", "tracepoint__syscalls__sys_exit_openat");
    }

    [Fact]
    public void TcpconnectAndTcplifeSeeALoopbackConnection()
    {
        KernelTest.Require();
        using var connect = ToolProcess.Start("tcpconnect", "--json", "-p", Environment.ProcessId.ToString());
        using var life = ToolProcess.Start("tcplife", "--json");
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var payload = new byte[20000];
        using (var client = new TcpClient())
        {
            client.Connect(IPAddress.Loopback, port);
            using var server = listener.AcceptTcpClient();
            client.GetStream().Write(payload);
            var buffer = new byte[payload.Length];
            server.GetStream().ReadExactly(buffer);
        }
        var c = connect.WaitFor(e => e.GetProperty("dport").GetInt32() == port, $"dport {port}");
        Assert.Equal(Environment.ProcessId, c.GetProperty("pid").GetInt32());
        // .NET connects through a dual-mode IPv6 socket: the kernel sees a v4-mapped IPv6 address
        var daddr = IPAddress.Parse(c.GetProperty("daddr").GetString()!);
        Assert.Equal(IPAddress.Loopback, daddr.IsIPv4MappedToIPv6 ? daddr.MapToIPv4() : daddr);
        // the client's side of the session: it sent the payload
        var l = life.WaitFor(e => e.GetProperty("rport").GetInt32() == port, $"rport {port}");
        Assert.True(l.GetProperty("tx_bytes").GetInt64() >= payload.Length, l.ToString());
        Assert.Equal(Environment.ProcessId, l.GetProperty("pid").GetInt32());
        Assert.Equal(0, connect.Stop("INT"));
        Assert.Equal(0, life.Stop("TERM"));
        connect.AssertNothingLeft("inet_sock_set_state");
    }

    [Fact]
    public void TcpconnectKprobeVariantLoadsAndIsChosenOnlyWhereKprobesAttach()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        // the kprobe variant passes the verifier on any kernel (CO-RE reads of struct sock), alone, as the tool loads it
        using (var session = ToolSession.Load("tcpconnect", spec => spec.Programs.Remove("inet_sock_set_state")))
            Assert.Equal(TcpConnect.KprobePrograms.Order(), session.Collection.Programs.Keys.Order());
        var kprobes = SharpBpf.Features.KernelFeatures.Attach("kprobe-attach");
        Assert.Equal(kprobes.IsSupported ? ProbeVariant.Kprobe : ProbeVariant.Tracepoint, ToolSession.ChooseVariant("tcpconnect", ProbeVariant.Auto));
        Assert.Equal(ProbeVariant.Tracepoint, ToolSession.ChooseVariant("tcpconnect", ProbeVariant.Tracepoint));
        if (kprobes.IsSupported)
        {
            using var connect = ToolProcess.Start("tcpconnect", "--attach", "kprobe", "--json", "-p", Environment.ProcessId.ToString());
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            using (var client = new TcpClient())
            {
                client.Connect(IPAddress.Loopback, port);
                using var server = listener.AcceptTcpClient();
            }
            var c = connect.WaitFor(e => e.GetProperty("dport").GetInt32() == port, $"dport {port}");
            Assert.Equal(Environment.ProcessId, c.GetProperty("pid").GetInt32());
            Assert.Equal(0, connect.Stop("INT"));
            connect.AssertNothingLeft(TcpConnect.KprobePrograms);
        }
        else
        {
            // asked for explicitly, kprobes that cannot attach are a runtime error saying why
            var r = CliRunner.Run("tcpconnect", "--attach", "kprobe", "--duration", "1");
            Assert.Equal(1, r.ExitCode);
            Assert.Single(r.Stderr.TrimEnd('\n').Split('\n'));
            Assert.StartsWith("sharpbpf: error: tcpconnect: --attach kprobe: ", r.Stderr);
            Assert.Contains(kprobes.Reason!, r.Stderr);
        }
        Assert.Equal(2, CliRunner.Run("tcpconnect", "--attach", "fentry").ExitCode);
    }

    [Fact]
    public void BiolatencyHistogramCountsDirectWrites()
    {
        KernelTest.Require();
        string file = Path.Combine("/var/tmp", "sharpbpf-bio-" + Guid.NewGuid().ToString("N"));
        using var tool = ToolProcess.Start("biolatency", "--json", "--duration", "4");
        try
        {
            Assert.Equal(0, RunChild("dd", "if=/dev/zero", $"of={file}", "bs=4k", "count=64", "oflag=direct"));
        }
        finally
        {
            File.Delete(file);
        }
        Assert.Equal(0, tool.WaitForExit());
        var hist = Assert.Single(tool.Json());
        Assert.Equal("usecs", hist.GetProperty("unit").GetString());
        long total = hist.GetProperty("buckets").EnumerateArray().Sum(b => b.GetProperty("count").GetInt64());
        Assert.True(total >= 64, $"{total} I/Os in the histogram, expected at least the 64 direct writes");
        tool.AssertNothingLeft("block_rq_issue", "block_rq_complete");
    }

    [Fact]
    public void RunqlatPrintsAHistogramPerInterval()
    {
        KernelTest.Require();
        using var tool = ToolProcess.Start("runqlat", "--json", "--interval", "1", "--duration", "3");
        // keep both CPUs busy so that tasks wait in run queues
        var until = DateTime.UtcNow.AddSeconds(2);
        Parallel.For(0, 4, _ =>
        {
            while (DateTime.UtcNow < until) Thread.Yield();
        });
        Assert.Equal(0, tool.WaitForExit());
        var hists = tool.Json();
        Assert.InRange(hists.Count, 2, 4);
        Assert.Contains(hists, h => h.GetProperty("buckets").GetArrayLength() > 0);
        tool.AssertNothingLeft("sched_wakeup", "sched_switch");
    }

    [Fact]
    public void SyscountCountsTheReadsOfAChild()
    {
        KernelTest.Require();
        using var tool = ToolProcess.Start("syscount", "--json", "--top", "400", "--duration", "4");
        Assert.Equal(0, RunChild("dd", "if=/dev/zero", "of=/dev/null", "bs=1", "count=20000"));
        Assert.Equal(0, tool.WaitForExit());
        var result = Assert.Single(tool.Json());
        var read = result.GetProperty("syscalls").EnumerateArray().Single(s => s.GetProperty("syscall").GetString() == "read");
        Assert.Equal(0, read.GetProperty("nr").GetInt32());
        Assert.True(read.GetProperty("count").GetInt64() >= 20000, read.ToString());
        tool.AssertNothingLeft("sys_enter", "sys_exit");
    }

    [Fact]
    public void SyscountPerProcessNamesTheProcess()
    {
        KernelTest.Require();
        using var tool = ToolProcess.Start("syscount", "--json", "-P", "--top", "400", "--duration", "3");
        using (var p = Process.Start("dd", ["if=/dev/zero", "of=/dev/null", "bs=1", "count=20000", "status=none"]))
        {
            p.WaitForExit();
            Assert.Equal(0, tool.WaitForExit());
            var result = Assert.Single(tool.Json());
            var dd = result.GetProperty("processes").EnumerateArray().Single(s => s.GetProperty("pid").GetInt32() == p.Id);
            Assert.Equal("dd", dd.GetProperty("comm").GetString());
            Assert.True(dd.GetProperty("count").GetInt64() >= 40000, dd.ToString()); // a read and a write per byte
        }
    }

    [Fact]
    public void BashreadlineShowsTheLinesAnInteractiveBashReads()
    {
        KernelTest.Require();
        string marker = "sharpbpf-readline-" + Guid.NewGuid().ToString("N")[..8];
        using var tool = ToolProcess.Start("bashreadline", "--json");
        var psi = new ProcessStartInfo("bash", ["--norc", "-i"]) { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        int pid;
        using (var bash = Process.Start(psi)!)
        {
            pid = bash.Id;
            bash.StandardInput.WriteLine($"echo {marker}");
            bash.StandardInput.WriteLine("exit");
            bash.StandardOutput.ReadToEnd();
            bash.StandardError.ReadToEnd();
            bash.WaitForExit();
        }
        var e = tool.WaitFor(e => e.GetProperty("command").GetString() == $"echo {marker}", marker);
        Assert.Equal(pid, e.GetProperty("pid").GetInt32());
        Assert.Equal("bash", e.GetProperty("comm").GetString());
        Assert.Equal(0, tool.Stop("INT"));
        tool.AssertNothingLeft("printret");
    }

    private static void SendUdp(int count)
    {
        using var receiver = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        using var sender = new UdpClient();
        var to = (IPEndPoint)receiver.Client.LocalEndPoint!;
        var datagram = new byte[100];
        for (int i = 0; i < count; i++) sender.Send(datagram, to);
    }

    private static long UdpPackets(JsonElement snapshot) =>
        snapshot.GetProperty("protocols").EnumerateArray().Where(p => p.GetProperty("name").GetString() == "UDP")
            .Select(p => p.GetProperty("packets").GetInt64()).SingleOrDefault();

    [Fact]
    public void PktcountCountsUdpOnLoopback()
    {
        KernelTest.Require();
        using var tool = ToolProcess.Start("pktcount", "--json", "-i", "lo", "--interval", "1");
        SendUdp(200);
        var snapshot = tool.WaitFor(s => UdpPackets(s) >= 200, "200 UDP packets");
        Assert.True(UdpPackets(snapshot) >= 200);
        Assert.Equal(0, tool.Stop("INT"));
        tool.AssertNothingLeft("pktcount");
    }

    [Fact]
    public void XdpstatsCountsUdpOnLoopbackAndDetaches()
    {
        KernelTest.Require();
        using var tool = ToolProcess.Start("xdpstats", "--json", "-i", "lo", "--mode", "generic", "--interval", "1");
        SendUdp(200);
        tool.WaitFor(s => UdpPackets(s) >= 200, "200 UDP packets");
        Assert.Equal(0, tool.Stop("TERM"));
        tool.AssertNothingLeft("xdpstats");
        Assert.DoesNotContain("xdp", NetNs.RunIp("link show dev lo"));
    }

    [Fact]
    public void BadArgumentsAreOneLineUsageErrors()
    {
        var unknownTool = CliRunner.Run("nosuchsnoop");
        Assert.Equal(2, unknownTool.ExitCode);
        var badDuration = CliRunner.Run("execsnoop", "--duration", "-1");
        Assert.Equal(2, badDuration.ExitCode);
        Assert.Contains("--duration", badDuration.Stderr);
        var noInterface = CliRunner.Run("xdpstats");
        Assert.Equal(2, noInterface.ExitCode);
        var missingInterface = CliRunner.Run("xdpstats", "-i", "nosuchif0");
        Assert.Equal(2, missingInterface.ExitCode);
        Assert.Equal("sharpbpf: error: no network interface 'nosuchif0'", missingInterface.Stderr.Trim());
        foreach (var r in new[] { unknownTool, badDuration, noInterface, missingInterface })
            Assert.Single(r.Stderr.Trim().Split('\n'));
    }

    [Fact]
    public void EveryToolHasHelpWithAnExample()
    {
        foreach (string tool in new[] { "execsnoop", "exitsnoop", "opensnoop", "tcpconnect", "tcplife", "biolatency", "runqlat", "syscount", "pktcount", "xdpstats", "bashreadline" })
        {
            var help = CliRunner.Run(tool, "--help");
            Assert.Equal(0, help.ExitCode);
            Assert.Contains("Example:", help.Stdout);
            Assert.Contains($"sharpbpf {tool}", help.Stdout);
            Assert.Contains("--duration", help.Stdout);
            Assert.Contains("--json", help.Stdout);
        }
    }
}
