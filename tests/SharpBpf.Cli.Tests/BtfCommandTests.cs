using System.Text.Json;
using SharpBpf.Btf;
using SharpBpf.TestUtilities;

namespace SharpBpf.Cli.Tests;

/// <summary><c>sharpbpf btf list|dump</c>, cross-checked against bpftool.</summary>
[Collection(KernelCollection.Name)]
public class BtfCommandTests
{
    private const string Vmlinux = "/sys/kernel/btf/vmlinux";

    private static string TestObject(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "SharpBpf.slnx")))
                return Path.Combine(dir.FullName, "tests", "SharpBpf.Tests", "Btf", "testdata", name);
        throw new DirectoryNotFoundException("repository root not found");
    }

    /// <summary>BTF of a tiny hand-built object (int, struct, func) loaded into the kernel.</summary>
    private static BtfHandle LoadSmallBtf()
    {
        var w = new BtfWriter();
        uint i32 = w.AddType(BtfKind.Int, "int", 4, 0, false, (1u << 24) | 32);
        w.AddType(BtfKind.Struct, "cli_pair", 8, 2, false, w.AddString("a"), i32, 0, w.AddString("b"), i32, 32);
        uint proto = w.AddType(BtfKind.FuncProto, "", i32, 1, false, w.AddString("x"), i32);
        w.AddType(BtfKind.Func, "cli_fn", proto, 1);
        return BtfHandle.Load(w.ToArray());
    }

    [Fact]
    public void DumpFileOfVmlinuxEqualsBpftool()
    {
        KernelTest.Require();
        var ours = CliRunner.Run("btf", "dump", "file", Vmlinux);
        Assert.Equal(0, ours.ExitCode);
        Assert.Equal(BpftoolCrossCheckTests.Bpftool("btf", "dump", "file", Vmlinux, "format", "raw"), ours.Stdout);
    }

    [Fact]
    public void DumpFileOfAnElfObjectEqualsBpftool()
    {
        KernelTest.Require();
        string obj = TestObject("globals.bpf.o");
        var ours = CliRunner.Run("btf", "dump", "file", obj, "--format", "raw");
        Assert.Equal(0, ours.ExitCode);
        Assert.Equal(BpftoolCrossCheckTests.Bpftool("btf", "dump", "file", obj), ours.Stdout);
        Assert.Contains("[37] DATASEC '.bss' size=0 vlen=3", ours.Stdout);
    }

    [Fact]
    public void DumpIdAndListAgreeWithBpftool()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var btf = LoadSmallBtf();
        uint id = btf.GetInfo().Id;
        var dump = CliRunner.Run("btf", "dump", "id", id.ToString());
        Assert.Equal(0, dump.ExitCode);
        Assert.Equal(BpftoolCrossCheckTests.Bpftool("btf", "dump", "id", id.ToString()), dump.Stdout);
        Assert.Contains("[2] STRUCT 'cli_pair' size=8 vlen=2", dump.Stdout);

        var list = CliRunner.Run("btf", "list", "--json");
        Assert.Equal(0, list.ExitCode);
        using var ours = JsonDocument.Parse(list.Stdout);
        using var theirs = JsonDocument.Parse(BpftoolCrossCheckTests.Bpftool("btf", "list", "-j"));
        JsonElement Find(JsonDocument d, uint want) => d.RootElement.EnumerateArray().Single(e => e.GetProperty("id").GetUInt32() == want);
        foreach (uint check in new uint[] { 1, id })
        {
            var o = Find(ours, check);
            var b = Find(theirs, check);
            Assert.Equal(b.GetProperty("size").GetUInt32(), o.GetProperty("size").GetUInt32());
            Assert.Equal(b.GetProperty("kernel").GetBoolean(), o.GetProperty("kernel").GetBoolean());
            Assert.Equal(b.TryGetProperty("name", out var bn) ? bn.GetString() : null, o.TryGetProperty("name", out var on) ? on.GetString() : null);
            Assert.Equal(b.GetProperty("prog_ids").EnumerateArray().Select(e => e.GetUInt32()), o.GetProperty("prog_ids").EnumerateArray().Select(e => e.GetUInt32()));
            Assert.Equal(b.GetProperty("map_ids").EnumerateArray().Select(e => e.GetUInt32()), o.GetProperty("map_ids").EnumerateArray().Select(e => e.GetUInt32()));
        }

        var plain = CliRunner.Run("btf", "list");
        Assert.Equal(0, plain.ExitCode);
        var bpftoolPlain = BpftoolCrossCheckTests.Bpftool("btf", "list").Split('\n');
        Assert.Contains(bpftoolPlain.Single(l => l.StartsWith("1: ", StringComparison.Ordinal)), plain.Stdout.Split('\n'));
        Assert.Contains($"{id}: name <anon>  size {btf.GetInfo().Size}B", plain.Stdout.Split('\n'));
    }

    [Fact]
    public void DumpFormatCPrintsDeclarations()
    {
        KernelTest.Require();
        var ours = CliRunner.Run("btf", "dump", "file", TestObject("ext.bpf.o"), "--format", "c");
        Assert.Equal(0, ours.ExitCode);
        Assert.Contains("struct task_like {\n\tint pid;\n\tlong flags;\n};", ours.Stdout);
        Assert.Contains("typedef unsigned int __u32;", ours.Stdout);
        Assert.StartsWith("#ifndef __VMLINUX_H__", ours.Stdout);
        var bad = CliRunner.Run("btf", "dump", "file", TestObject("ext.bpf.o"), "--format", "json");
        Assert.Equal(2, bad.ExitCode);
    }

    [Fact]
    public void BadInputGivesOneLineErrors()
    {
        KernelTest.Require();
        var missing = CliRunner.Run("btf", "dump", "id", "4000000000");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("no BTF object with id 4000000000", missing.Stderr);
        var notBtf = CliRunner.Run("btf", "dump", "file", "/proc/self/status");
        Assert.Equal(1, notBtf.ExitCode);
        Assert.Contains("invalid BTF", notBtf.Stderr);
        Assert.Single(notBtf.Stderr.Trim().Split('\n'));
        var usage = CliRunner.Run("btf", "dump", "name", "x");
        Assert.Equal(2, usage.ExitCode);
        var notId = CliRunner.Run("btf", "dump", "id", "abc");
        Assert.Equal(2, notId.ExitCode);
        var noFile = CliRunner.Run("btf", "dump", "file", "/nonexistent/x.o");
        Assert.Equal(1, noFile.ExitCode);
        Assert.Equal(2, CliRunner.Run("btf", "dump").ExitCode);
        Assert.Equal(2, CliRunner.Run("btf", "dump", "--kernel", "/x").ExitCode);
    }

    [Fact]
    public void DumpTakesAPathOrKernel()
    {
        KernelTest.Require();
        var byPath = CliRunner.Run("btf", "dump", Vmlinux);
        var byKernel = CliRunner.Run("btf", "dump", "--kernel");
        Assert.Equal(0, byKernel.ExitCode);
        Assert.Equal(CliRunner.Run("btf", "dump", "file", Vmlinux).Stdout, byPath.Stdout);
        Assert.Equal(byPath.Stdout, byKernel.Stdout);
    }

    [Fact]
    public void DumpFormatCSharpWritesBindingsForTheNamedTypes()
    {
        KernelTest.Require();
        var r = CliRunner.Run("btf", "dump", "--kernel", "--format", "csharp", "--types", "iphdr", "--namespace", "My.Kernel");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("namespace My.Kernel;", r.Stdout);
        Assert.Contains("[StructLayout(LayoutKind.Explicit, Size = 20)]\npublic unsafe struct iphdr\n", r.Stdout);
        Assert.Contains("[FieldOffset(12)] public uint saddr;", r.Stdout);
        Assert.DoesNotContain("struct task_struct", r.Stdout);
        var unknown = CliRunner.Run("btf", "dump", "--kernel", "--format", "csharp", "--types", "no_such_type_xyz");
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("no_such_type_xyz", unknown.Stderr);
        Assert.Equal(2, CliRunner.Run("btf", "dump", "--kernel", "--types", "iphdr").ExitCode); // --types needs --format csharp
        Assert.Equal(2, CliRunner.Run("btf", "dump", "--kernel", "--format", "csharp", "--namespace", "1bad").ExitCode);
    }
}
