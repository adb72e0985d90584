using System.Text.Json;
using SharpBpf.TestUtilities;

namespace SharpBpf.Cli.Tests;

[Collection(KernelCollection.Name)]
public class FeaturesCommandTests
{
    [Fact]
    public void TableShowsEverySection()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        var r = CliRunner.Run("features");
        Assert.Equal(0, r.ExitCode);
        foreach (var section in new[] { "Program types", "Map types", "Attach kinds", "Helpers per program type" })
            Assert.Contains(section, r.Stdout);
        Assert.Contains("xdp-generic", r.Stdout);
        Assert.Contains("ringbuf", r.Stdout);
    }

    [Fact]
    public void JsonAgreesWithBpftoolOnProgramAndMapTypes()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        var r = CliRunner.Run("features", "--json");
        Assert.Equal(0, r.ExitCode);
        using var ours = JsonDocument.Parse(r.Stdout);
        using var theirs = JsonDocument.Parse(BpftoolCrossCheckTests.Bpftool("feature", "probe", "kernel", "-j"));

        int compared = 0;
        foreach (var (section, suffix) in new[] { ("program_types", "_prog_type"), ("map_types", "_map_type") })
        {
            var mine = ours.RootElement.GetProperty(section).EnumerateArray()
                .ToDictionary(e => e.GetProperty("name").GetString()!, e => e.GetProperty("supported").GetBoolean());
            foreach (var p in theirs.RootElement.GetProperty(section).EnumerateObject())
            {
                string name = p.Name["have_".Length..^suffix.Length];
                Assert.True(mine.TryGetValue(name, out bool supported), $"bpftool probes {section} '{name}', we do not");
                Assert.True(p.Value.GetBoolean() == supported, $"{section} '{name}': bpftool says {p.Value.GetBoolean()}, we say {supported}");
                compared++;
            }
        }
        Assert.True(compared > 50, $"only {compared} features compared");

        // Helpers: every program type we list has map_lookup_elem (helper 1).
        foreach (var t in ours.RootElement.GetProperty("helpers").EnumerateObject())
            Assert.Contains("map_lookup_elem", t.Value.EnumerateArray().Select(h => h.GetString()));
    }
}
