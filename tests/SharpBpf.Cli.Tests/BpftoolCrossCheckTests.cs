using System.Diagnostics;
using System.Text.Json;
using SharpBpf.Elf;
using SharpBpf.Maps;
using SharpBpf.TestUtilities;

namespace SharpBpf.Cli.Tests;

/// <summary>Compares our view of kernel objects with the real bpftool's (installed by .ci/run).</summary>
[Collection(KernelCollection.Name)]
public class BpftoolCrossCheckTests
{
    internal static string Bpftool(params string[] args)
    {
        string exe = File.Exists("/usr/sbin/bpftool") ? "/usr/sbin/bpftool" : "bpftool";
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("cannot start bpftool");
        string stdout = p.StandardOutput.ReadToEnd();
        string stderr = p.StandardError.ReadToEnd();
        Assert.True(p.WaitForExit(30_000), "bpftool did not finish in 30 s");
        Assert.True(p.ExitCode == 0, $"bpftool {string.Join(' ', args)} failed: {stderr}");
        return stdout;
    }

    [Fact]
    public void MapShowAgreesWithBpftool()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var map = BpfMap.Create(new MapSpec { Name = "xcheck_lru", Type = MapType.LruHash, KeySize = 8, ValueSize = 16, MaxEntries = 32 });
        var ours = CliRunner.Run("map", "show", map.Id.ToString(), "--json");
        Assert.Equal(0, ours.ExitCode);
        using var o = JsonDocument.Parse(ours.Stdout);
        using var b = JsonDocument.Parse(Bpftool("map", "show", "id", map.Id.ToString(), "-j"));
        foreach (var field in new[] { "id", "bytes_key", "bytes_value", "max_entries", "flags" })
            Assert.Equal(b.RootElement.GetProperty(field).GetUInt64(), o.RootElement.GetProperty(field).GetUInt64());
        Assert.Equal(b.RootElement.GetProperty("type").GetString(), o.RootElement.GetProperty("type").GetString());
        Assert.Equal(b.RootElement.GetProperty("name").GetString(), o.RootElement.GetProperty("name").GetString());
    }

    [Fact]
    public void ProgShowNamesAgreeWithBpftoolIncludingNamesLongerThan15Characters()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var c = BpfCollection.LoadFile(TestObjects.PathOf("tc_classifier.bpf.o"));
        uint id = c.Programs["classifier_legacy"].Id;
        var ours = CliRunner.Run("prog", "show", id.ToString(), "--json");
        Assert.Equal(0, ours.ExitCode);
        using var o = JsonDocument.Parse(ours.Stdout);
        using var b = JsonDocument.Parse(Bpftool("prog", "show", "id", id.ToString(), "-j"));
        Assert.Equal("classifier_legacy", b.RootElement.GetProperty("name").GetString());
        Assert.Equal(b.RootElement.GetProperty("name").GetString(), o.RootElement.GetProperty("name").GetString());
        Assert.Equal(b.RootElement.GetProperty("tag").GetString(), o.RootElement.GetProperty("tag").GetString());
    }
}
