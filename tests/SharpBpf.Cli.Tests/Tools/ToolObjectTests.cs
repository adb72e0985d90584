using System.Diagnostics;
using SharpBpf.Cli.Tools;

namespace SharpBpf.Cli.Tests.Tools;

/// <summary>The tools' embedded objects are exactly what Tools/bpf/build.sh makes from the checked-in sources and
/// the repository's vmlinux.h, and every object the CLI needs is embedded.</summary>
public class ToolObjectTests
{
    private static string SourceDirectory
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "src", "SharpBpf.Cli", "Tools", "bpf");
                if (Directory.Exists(candidate)) return candidate;
            }
            throw new DirectoryNotFoundException("src/SharpBpf.Cli/Tools/bpf above the test directory");
        }
    }

    public static TheoryData<string> Tools() =>
        new(Directory.GetFiles(SourceDirectory, "*.bpf.c").Select(f => Path.GetFileName(f)[..^".bpf.c".Length]).Order());

    [Theory]
    [MemberData(nameof(Tools))]
    public void EverySourceIsEmbeddedAndParses(string tool)
    {
        var spec = ToolSession.ReadSpec(tool);
        Assert.NotEmpty(spec.Programs);
        Assert.Equal("GPL", spec.License);
    }

    [Fact]
    public void RebuildingGivesIdenticalBytes()
    {
        if (!File.Exists("/usr/bin/clang-14"))
        {
            if (Environment.GetEnvironmentVariable("CI") == "true") Assert.Fail("clang-14 is missing in CI (.ci/run installs it)");
            Assert.Skip("clang-14 is not installed");
        }
        string outDir = Path.Combine(Path.GetTempPath(), "sharpbpf-tools-" + Guid.NewGuid().ToString("N"));
        try
        {
            var psi = new ProcessStartInfo("bash", [Path.Combine(SourceDirectory, "build.sh"), outDir])
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
            };
            using var p = Process.Start(psi)!;
            string err = p.StandardError.ReadToEnd();
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, $"build.sh failed: {err}");
            var objects = Directory.GetFiles(SourceDirectory, "*.bpf.o").Select(Path.GetFileName).Order().ToList();
            Assert.Equal(objects, Directory.GetFiles(outDir, "*.bpf.o").Select(Path.GetFileName).Order());
            var differing = objects.Where(o => !File.ReadAllBytes(Path.Combine(outDir, o!)).AsSpan()
                .SequenceEqual(File.ReadAllBytes(Path.Combine(SourceDirectory, o!)))).ToList();
            Assert.True(differing.Count == 0, $"rebuilt objects differ from the checked-in ones: {string.Join(", ", differing)} (run src/SharpBpf.Cli/Tools/bpf/build.sh and commit)");
        }
        finally
        {
            if (Directory.Exists(outDir)) Directory.Delete(outDir, recursive: true);
        }
    }
}
