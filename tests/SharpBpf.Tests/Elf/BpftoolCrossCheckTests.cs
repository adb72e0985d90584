using System.Diagnostics;
using System.Text.Json;
using SharpBpf.TestUtilities;

namespace SharpBpf.Tests.Elf;

/// <summary>
/// For every testdata object libbpf 1.1 (inside the distribution's bpftool) can open, <c>bpftool prog loadall</c>
/// loads it iff we load all its programs, and each program has the same number of xlated instructions.
/// </summary>
[Collection(KernelCollection.Name)]
public class BpftoolCrossCheckTests
{
    // libbpf 1.1 refuses to open these: the reason is the object using what it lacks, not a load difference.
    private static readonly string[] OutsideLibbpf11 =
    [
        "failed to guess program type",          // sections added after 1.1 (tcx/, netfilter ...)
        "legacy map definitions in 'maps' section are not supported", // dropped in libbpf 1.0
        "bad map relo against",                  // .bss.* sections (1.1 knows .data.*/.rodata.* only)
    ];

    [Theory]
    [MemberData(nameof(TestData.ObjectNames), MemberType = typeof(TestData))]
    public void BpftoolLoadsIffWeDoWithEqualXlatedCounts(string file)
    {
        KernelTest.Require();
        if (!File.Exists("/usr/sbin/bpftool") && !File.Exists("/usr/bin/bpftool"))
        {
            if (Environment.GetEnvironmentVariable("CI") == "true") Assert.Fail("bpftool is missing in CI (.ci/run installs it)");
            Assert.Skip("bpftool is not installed");
        }
        using var leak = new FdLeakCheck();
        string dir = Path.Combine(Pinning.BpfFs.DefaultPath, "sharpbpf-xcheck-" + Guid.NewGuid().ToString("N")[..12]);
        string ourPins = dir + "-maps";
        // libbpf pins LIBBPF_PIN_BY_NAME maps under /sys/fs/bpf itself: remove the ones it creates.
        var spec = TestData.Spec(file);
        var defaultPins = spec.Maps.Values.Where(m => m.Pinning == SharpBpf.Maps.PinningType.ByName)
            .Select(m => Path.Combine(Pinning.BpfFs.DefaultPath, m.Name)).Where(p => !File.Exists(p)).ToList();
        Directory.CreateDirectory(ourPins);
        try
        {
            var (rc, output) = Bpftool($"prog loadall {TestData.PathOf(file)} {dir}");
            // Outside libbpf 1.1's support (the reason is checked): there is nothing to compare, but we must load it.
            bool outside = rc != 0 && OutsideLibbpf11.Any(output.Contains);

            Dictionary<string, uint> ours;
            bool weLoad;
            try
            {
                using var c = BpfCollection.Load(spec, new CollectionLoadOptions { PinPath = ourPins });
                ours = c.Programs.ToDictionary(kv => kv.Key, kv => kv.Value.GetInfo().XlatedSize / 8);
                weLoad = true;
            }
            catch (CollectionLoadException)
            {
                ours = [];
                weLoad = false;
            }
            if (outside)
            {
                Assert.True(weLoad, $"{file}: libbpf 1.1 cannot open it and neither can we");
                return;
            }
            Assert.True(weLoad == (rc == 0), $"{file}: we {(weLoad ? "load" : "fail")}, bpftool {(rc == 0 ? "loads" : "fails")}: {output}");
            if (!weLoad) return;
            foreach (var (name, count) in ours)
            {
                var (showRc, json) = Bpftool($"prog show pinned {Path.Combine(dir, name)} --json");
                Assert.True(showRc == 0, $"bpftool did not pin '{name}': {json}");
                uint theirs = JsonDocument.Parse(json).RootElement.GetProperty("bytes_xlated").GetUInt32() / 8;
                Assert.True(count == theirs, $"{file}: program '{name}' has {count} xlated instructions with us, {theirs} with bpftool");
            }
            Assert.Equal(ours.Keys.Order(), Directory.Exists(dir) ? Directory.GetFiles(dir).Select(Path.GetFileName).Order()! : []);
        }
        finally
        {
            if (Directory.Exists(dir))
            {
                foreach (var f in Directory.GetFiles(dir)) File.Delete(f);
                Directory.Delete(dir);
            }
            foreach (var f in Directory.GetFiles(ourPins)) File.Delete(f);
            Directory.Delete(ourPins);
            foreach (var p in defaultPins.Where(File.Exists)) File.Delete(p);
        }
    }

    internal static (int ExitCode, string Output) Bpftool(string args)
    {
        var psi = new ProcessStartInfo("bpftool", args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout + stderr.Result);
    }
}
