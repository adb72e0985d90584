using System.Diagnostics;
using SharpBpf.Btf;
using SharpBpf.Maps;
using SharpBpf.Tests.Elf;
using SharpBpf.TestUtilities;

namespace SharpBpf.Tests.Links;

/// <summary>testdata/tracing_attach.bpf.o with the kernel struct offsets its iterators need (from the kernel's BTF)
/// and this process as the raw_tp target.</summary>
internal static class TracingAttachSupport
{
    public const string Object = "tracing_attach.bpf.o";

    public const string MapElemIterator = "dump_counts";

    /// <summary>Loads the map element iterator, or skips the test where the kernel refuses it (known absent here).</summary>
    public static BpfCollection LoadMapElemIterator()
    {
        try
        {
            return Load(MapElemIterator);
        }
        catch (CollectionLoadException e) when (e.InnerException is BpfException { Errno: 1 })
        {
            KernelTest.RequireFeature("iter-map-elem-load", e.Message);
            throw;
        }
    }

    public static CollectionSpec Spec(params string[] programs)
    {
        var spec = TestData.Spec(Object);
        var kernel = BtfSpec.Kernel;
        spec.SetVariable("task_pid_offset", OffsetOf(kernel, "task_struct", "pid"));
        spec.SetVariable("task_tgid_offset", OffsetOf(kernel, "task_struct", "tgid"));
        spec.SetVariable("map_id_offset", OffsetOf(kernel, "bpf_map", "id"));
        spec.SetVariable("target_tgid", (uint)Environment.ProcessId);
        // Without a list: everything but the map element iterator, which this machine refuses (iter-map-elem-load).
        foreach (var p in spec.Programs.Values) p.AutoLoad = programs.Length > 0 ? programs.Contains(p.Name) : p.Name != MapElemIterator;
        return spec;
    }

    public static BpfCollection Load(params string[] programs) => BpfCollection.Load(Spec(programs));

    private static uint OffsetOf(BtfSpec btf, string type, string member)
    {
        var s = btf.TypeByName<BtfStruct>(type);
        var m = s.FindMember(member) ?? throw new InvalidOperationException($"kernel struct {type} has no member {member}");
        return m.BitOffset / 8;
    }

    /// <summary>Whether link <paramref name="id"/> is gone within 5 s: the last reference dropped by removing a pin
    /// frees the link from a workqueue, a moment later.</summary>
    public static bool LinkGone(uint id)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (SharpBpf.Links.BpfLink.EnumerateIds().Contains(id))
        {
            if (DateTime.UtcNow > deadline) return false;
            Thread.Sleep(10);
        }
        return true;
    }

    /// <summary>Runs /bin/true <paramref name="times"/> times, waiting for each.</summary>
    public static void RunTrue(int times)
    {
        for (int i = 0; i < times; i++)
        {
            using var p = Process.Start(new ProcessStartInfo("/bin/true") { UseShellExecute = false })!;
            p.WaitForExit();
        }
    }

    public static ulong Count(BpfCollection c, uint slot)
    {
        Span<byte> v = stackalloc byte[8];
        c.Maps["counts"].Lookup(BitConverter.GetBytes(slot), v);
        return BitConverter.ToUInt64(v);
    }

    /// <summary>Runs a command and returns its stdout; fails the test on a non-zero exit.</summary>
    public static string Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{file} {string.Join(' ', args)} exited {p.ExitCode}: {stderr.Result}");
        return stdout;
    }
}
