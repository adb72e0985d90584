using System.Diagnostics;
using System.Text.RegularExpressions;
using SharpBpf.TestUtilities;

namespace SharpBpf.Tests.Examples;

/// <summary>The examples/ programs (built with the solution, their BPF C compiled by SharpBpf.Build) run as users run
/// them, and print what they promise.</summary>
[Collection(KernelCollection.Name)]
public partial class ExampleTests
{
    private static string ExampleDll(string name)
    {
        string configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name; // bin/<Configuration>/net10.0
        string dll = Path.Combine(TestData.RepositoryRoot, "examples", name, "bin", configuration, "net10.0", name + ".dll");
        Assert.True(File.Exists(dll), $"{dll} is missing: build the solution (dotnet build SharpBpf.slnx)");
        return dll;
    }

    private static Process Start(string name, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(ExampleDll(name));
        foreach (var a in args) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    [Fact]
    public async Task MinimalPrintsFromTracePipe()
    {
        KernelTest.Require();
        using var p = Start("minimal", "3");
        var stderr = p.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        string output = await p.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        Assert.True(p.WaitForExit(60_000));
        Assert.True(p.ExitCode == 0, output + await stderr);
        Assert.Equal(3, Regex.Count(output, $@"bpf_trace_printk: BPF triggered from PID {p.Id}\."));
        Assert.Contains("saw 3 writes", output);
    }

    [GeneratedRegex(@"^\S+\s+(EXEC|EXIT)\s+sleep\s+(\d+)\s+\d+\s+(.*)$", RegexOptions.Multiline)]
    private static partial Regex SleepLine();

    [Fact]
    public void BootstrapShowsExecAndExitWithDuration()
    {
        KernelTest.Require();
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { ExampleDll("bootstrap"), "--duration", "30" }) psi.ArgumentList.Add(a);
        using var p = new Process { StartInfo = psi };
        var lines = new List<string>();
        p.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (lines) lines.Add(e.Data);
        };
        p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (lines) lines.Add("stderr: " + e.Data);
        };
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        try
        {
            string Output()
            {
                lock (lines) return string.Join('\n', lines);
            }
            bool WaitFor(Func<string, bool> check)
            {
                for (var until = DateTime.UtcNow.AddSeconds(30); DateTime.UtcNow < until && !p.HasExited; Thread.Sleep(100))
                    if (check(Output())) return true;
                return check(Output());
            }
            // the header comes once the programs are attached
            Assert.True(WaitFor(o => o.StartsWith("TIME", StringComparison.Ordinal)), Output());
            int sleeper;
            using (var sleep = Process.Start("/bin/sleep", "0.3")!)
            {
                sleeper = sleep.Id;
                sleep.WaitForExit();
            }
            Match? Line(string output, string kind) =>
                SleepLine().Matches(output).FirstOrDefault(m => m.Groups[2].Value == sleeper.ToString() && m.Groups[1].Value == kind);
            Assert.True(WaitFor(o => Line(o, "EXIT") is not null), Output());
            string output = Output();
            Assert.Equal("/bin/sleep", Line(output, "EXEC")?.Groups[3].Value);
            var ms = Regex.Match(Line(output, "EXIT")!.Groups[3].Value, @"^\[0\] \((\d+) ms\)$");
            Assert.True(ms.Success, Line(output, "EXIT")!.Value);
            Assert.InRange(int.Parse(ms.Groups[1].Value), 300, 5000);
        }
        finally
        {
            if (!p.HasExited) p.Kill();
            p.WaitForExit();
        }
    }
}
