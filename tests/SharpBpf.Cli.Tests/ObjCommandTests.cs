using System.Text.Json;
using SharpBpf.TestUtilities;

namespace SharpBpf.Cli.Tests;

internal static class TestObjects
{
    public static string PathOf(string file)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "SharpBpf.slnx"))) return Path.Combine(dir.FullName, "testdata", file);
        throw new DirectoryNotFoundException("repository root not found");
    }
}

// The CLI writes through a process-wide Output: CLI tests run in the one serial collection.
[Collection(KernelCollection.Name)]
public class ObjCommandTests
{
    [Fact]
    public void ShowListsSectionsMapsProgramsAndRelocations()
    {
        var r = CliRunner.Run("obj", "show", TestObjects.PathOf("global_data.bpf.o"), "--json");
        Assert.Equal(0, r.ExitCode);
        using var doc = JsonDocument.Parse(r.Stdout);
        var root = doc.RootElement;
        Assert.Equal("GPL", root.GetProperty("license").GetString());
        Assert.Contains(root.GetProperty("sections").EnumerateArray(), s => s.GetProperty("name").GetString() == "xdp" && s.GetProperty("kind").GetString() == "program xdp");
        var maps = root.GetProperty("maps").EnumerateArray().ToDictionary(m => m.GetProperty("name").GetString()!);
        Assert.Equal("global_d.rodata", maps[".rodata"].GetProperty("kernel_name").GetString());
        var prog = root.GetProperty("programs").EnumerateArray().Single();
        Assert.Equal("global_data", prog.GetProperty("name").GetString());
        Assert.Contains(prog.GetProperty("relocations").EnumerateArray(), x => x.GetProperty("map").GetString() == ".rodata" && x.GetProperty("kind").GetString() == "value");

        var table = CliRunner.Run("obj", "show", TestObjects.PathOf("tail_calls.bpf.o"));
        Assert.Equal(0, table.ExitCode);
        Assert.Contains("jump_table", table.Stdout);
        Assert.Contains("tail_second", table.Stdout);
        Assert.Contains("3 programs", table.Stdout);
    }

    [Fact]
    public void ShowCorePrintsEachRelocation()
    {
        KernelTest.Require(); // the kernel's BTF is the default target
        var r = CliRunner.Run("obj", "show", TestObjects.PathOf("core.bpf.o"), "--core", "--json");
        Assert.Equal(0, r.ExitCode);
        using var doc = JsonDocument.Parse(r.Stdout);
        var progs = doc.RootElement.GetProperty("programs").EnumerateArray().ToDictionary(p => p.GetProperty("name").GetString()!);
        var core = progs["core_fields"].GetProperty("core").EnumerateArray().ToList();
        var kernel = SharpBpf.Btf.BtfSpec.LoadKernel();
        var task = kernel.TypeByName<SharpBpf.Btf.BtfStruct>("task_struct");
        var pid = core.First(x => x.GetProperty("path").GetString() == "struct task_struct.pid" && x.GetProperty("kind").GetString() == "byte_off");
        Assert.Equal(task.FindMember("pid")!.BitOffset / 8, pid.GetProperty("new_value").GetUInt64());
        Assert.Equal(task.Id, pid.GetProperty("target_type_id").GetUInt32());
        Assert.Equal("0:2", pid.GetProperty("access").GetString());
        var poisoned = Assert.Single(core, x => x.GetProperty("poisoned").GetBoolean());
        Assert.Equal("struct task_struct___old.sharpbpf_no_such_field", poisoned.GetProperty("path").GetString());
        Assert.Equal(JsonValueKind.Null, poisoned.GetProperty("target").ValueKind);
        var shrunk = core.Single(x => x.GetProperty("path").GetString() == "struct task_struct___old.flags");
        Assert.Equal((8, 4), (shrunk.GetProperty("old_size").GetInt32(), shrunk.GetProperty("new_size").GetInt32()));
        Assert.Contains(progs["core_types"].GetProperty("core").EnumerateArray(), x => x.GetProperty("kind").GetString() == "enumval_value");

        // Against an explicit BTF file, as a table.
        var table = CliRunner.Run("obj", "show", TestObjects.PathOf("core_poison.bpf.o"), "--core", "--btf", "/sys/kernel/btf/vmlinux");
        Assert.Equal(0, table.ExitCode);
        Assert.Contains("CO-RE relocations: 2 (1 poisoned)", table.Stdout);
        Assert.Contains("sharpbpf_no_such_field", table.Stdout);

        // Without --core there is no "core" array; --btf alone is a usage error.
        var plain = CliRunner.Run("obj", "show", TestObjects.PathOf("core.bpf.o"), "--json");
        using var plainDoc = JsonDocument.Parse(plain.Stdout);
        Assert.False(plainDoc.RootElement.GetProperty("programs")[0].TryGetProperty("core", out _));
        Assert.Equal(2, CliRunner.Run("obj", "show", TestObjects.PathOf("core.bpf.o"), "--btf", "/sys/kernel/btf/vmlinux").ExitCode);
    }

    [Fact]
    public void BadObjectsGiveOneLineErrors()
    {
        var missing = CliRunner.Run("obj", "show", "/nonexistent.bpf.o");
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("no such file", missing.Stderr);

        string junk = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(junk, [0x7f, (byte)'E', (byte)'L', (byte)'F', 2, 1]);
            var bad = CliRunner.Run("obj", "show", junk);
            Assert.Equal(1, bad.ExitCode);
            Assert.Contains("ELF64 header", bad.Stderr);
            Assert.DoesNotContain("   at ", bad.Stderr);
        }
        finally
        {
            File.Delete(junk);
        }
    }
}

[Collection(KernelCollection.Name)]
public class ProgLoadCommandTests
{
    [Fact]
    public void LoadPrintsEveryProgramAndPinsThem()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        string dir = Path.Combine("/sys/fs/bpf", "sharpbpf-cli-" + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            var r = CliRunner.Run("prog", "load", TestObjects.PathOf("subprograms.bpf.o"), "--pin", dir, "--json");
            Assert.Equal(0, r.ExitCode);
            using var doc = JsonDocument.Parse(r.Stdout);
            var progs = doc.RootElement.EnumerateArray().ToDictionary(p => p.GetProperty("name").GetString()!);
            Assert.Equal(["sub_socket", "sub_xdp"], progs.Keys.Order().ToArray());
            Assert.Equal("xdp", progs["sub_xdp"].GetProperty("type").GetString());
            Assert.True(progs["sub_xdp"].GetProperty("xlated_insns").GetInt32() > 0);
            Assert.Equal(["sub_socket", "sub_xdp"], Directory.GetFiles(dir).Select(Path.GetFileName).Order().ToArray());
            // The pinned program is the one reported.
            using var pinned = Programs.BpfProgram.FromPinned(Path.Combine(dir, "sub_xdp"));
            Assert.Equal(progs["sub_xdp"].GetProperty("id").GetUInt32(), pinned.Id);
        }
        finally
        {
            if (Directory.Exists(dir))
            {
                foreach (var f in Directory.GetFiles(dir)) File.Delete(f);
                Directory.Delete(dir);
            }
        }

        var table = CliRunner.Run("prog", "load", TestObjects.PathOf("xdp_pass.bpf.o"));
        Assert.Equal(0, table.ExitCode);
        Assert.Contains("xdp_pass", table.Stdout);
        Assert.Contains("1 programs loaded", table.Stdout);
    }

    [Fact]
    public void VerifierRejectionNamesTheProgramAndShowsTheLogTail()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        var r = CliRunner.Run("prog", "load", TestObjects.PathOf("verifier_reject.bpf.o"));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("'unchecked_read'", r.Stderr);
        Assert.Contains("invalid access to packet", r.Stderr);
        Assert.Empty(r.Stdout);
    }
}
