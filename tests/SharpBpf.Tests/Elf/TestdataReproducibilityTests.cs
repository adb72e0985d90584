using System.Diagnostics;

namespace SharpBpf.Tests.Elf;

/// <summary>The checked-in objects are exactly what testdata/build.sh makes from the checked-in sources.</summary>
public class TestdataReproducibilityTests
{
    [Fact]
    public void EverySourceHasItsObjectAndThereAreAtLeast25()
    {
        var sources = Directory.GetFiles(TestData.Directory, "*.bpf.c").Select(f => Path.GetFileName(f)[..^2]).Order().ToArray();
        var objects = TestData.Objects.Select(f => f[..^2]).ToArray();
        Assert.Equal(sources, objects);
        var linkSources = Directory.GetFiles(Path.Combine(TestData.Directory, "link"), "*.bpf.c").Select(f => "link/" + Path.GetFileName(f)[..^2]).Order().ToArray();
        Assert.Equal(linkSources, TestData.LinkObjects.Select(f => f[..^2]).ToArray());
        Assert.True(sources.Length >= 25, $"only {sources.Length} testdata programs");
    }

    [Fact]
    public void RebuildingGivesIdenticalBytes()
    {
        if (!File.Exists("/usr/bin/clang-14"))
        {
            if (Environment.GetEnvironmentVariable("CI") == "true") Assert.Fail("clang-14 is missing in CI (.ci/run installs it)");
            Assert.Skip("clang-14 is not installed");
        }
        string outDir = Path.Combine(Path.GetTempPath(), "sharpbpf-testdata-" + Guid.NewGuid().ToString("N"));
        try
        {
            var psi = new ProcessStartInfo("bash", [Path.Combine(TestData.Directory, "build.sh"), outDir])
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
            };
            using var p = Process.Start(psi)!;
            string err = p.StandardError.ReadToEnd();
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, $"build.sh failed: {err}");
            var differing = TestData.Objects.Concat(TestData.LinkObjects)
                .Where(o => !File.ReadAllBytes(Path.Combine(outDir, o)).AsSpan().SequenceEqual(TestData.Read(o)))
                .ToList();
            Assert.True(differing.Count == 0, $"rebuilt objects differ from the checked-in ones: {string.Join(", ", differing)} (run testdata/build.sh and commit)");
        }
        finally
        {
            if (Directory.Exists(outDir)) Directory.Delete(outDir, recursive: true);
        }
    }
}
