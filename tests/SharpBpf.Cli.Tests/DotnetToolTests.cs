using System.Diagnostics;
using SharpBpf.TestUtilities;

namespace SharpBpf.Cli.Tests;

/// <summary>The CLI as users install it: <c>dotnet pack</c> makes the <c>SharpBpf.Cli</c> tool package, <c>dotnet
/// tool install</c> installs it from a local feed, and the installed <c>sharpbpf</c> command traces an exec.</summary>
[Collection(KernelCollection.Name)]
public class DotnetToolTests
{
    private static (int ExitCode, string Output) Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(300_000), $"{file} {string.Join(' ', args)} did not finish in 5 minutes");
        return (p.ExitCode, stdout + stderr.Result);
    }

    [Fact]
    public void PackedToolInstallsFromALocalFeedAndTraces()
    {
        KernelTest.Require();
        string work = Directory.CreateTempSubdirectory("sharpbpf-tool-").FullName;
        try
        {
            string feed = Path.Combine(work, "feed"), tools = Path.Combine(work, "tools");
            // the test project references the CLI, so its Debug build is there to pack as it is
            var pack = Run("dotnet", "pack", Path.Combine(TestData.RepositoryRoot, "src", "SharpBpf.Cli"), "-c", "Debug", "--no-build", "-o", feed);
            Assert.True(pack.ExitCode == 0, pack.Output);
            Assert.Single(Directory.GetFiles(feed, "SharpBpf.Cli.*.nupkg"));
            var install = Run("dotnet", "tool", "install", "SharpBpf.Cli", "--tool-path", tools, "--add-source", feed, "--ignore-failed-sources");
            Assert.True(install.ExitCode == 0, install.Output);
            string sharpbpf = Path.Combine(tools, "sharpbpf");
            Assert.True(File.Exists(sharpbpf), install.Output);
            var version = Run(sharpbpf, "--version");
            Assert.Equal(0, version.ExitCode);
            Assert.StartsWith("0.", version.Output);

            string marker = "tool-check-" + Guid.NewGuid().ToString("N")[..8];
            string output = Path.Combine(work, "out"), errors = Path.Combine(work, "err");
            using var snoop = Process.Start("sh", ["-c", $"exec '{sharpbpf}' execsnoop --duration 4 --json > '{output}' 2> '{errors}'"]);
            var started = DateTime.UtcNow;
            while (!(File.Exists(errors) && File.ReadAllText(errors).Contains("Hit Ctrl+C", StringComparison.Ordinal)) && DateTime.UtcNow - started < TimeSpan.FromSeconds(30))
                Thread.Sleep(50);
            using (var t = Process.Start("/bin/true", marker)) t.WaitForExit();
            Assert.True(snoop.WaitForExit(30_000));
            Assert.True(snoop.ExitCode == 0, File.ReadAllText(errors));
            Assert.Contains(marker, File.ReadAllText(output));
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
