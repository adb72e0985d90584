using System.Text.Json;
using SharpBpf.Elf;
using SharpBpf.TestUtilities;

namespace SharpBpf.Cli.Tests;

/// <summary><c>sharpbpf obj link OUT IN...</c>: static linking of testdata/link's pair; errors leave OUT alone.</summary>
[Collection(KernelCollection.Name)]
public class ObjLinkCommandTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sharpbpf-objlink-" + Guid.NewGuid().ToString("N")[..8]);

    public ObjLinkCommandTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Link(string file) => TestObjects.PathOf(Path.Combine("link", file));

    [Fact]
    public void LinksThePairIntoALoadableObject()
    {
        string output = Path.Combine(_dir, "linked.bpf.o");
        var r = CliRunner.Run("obj", "link", output, Link("link_a.bpf.o"), Link("link_b.bpf.o"), "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        var root = doc.RootElement;
        Assert.Equal(0, root.GetProperty("unresolved_externs").GetInt32());
        Assert.Equal(new FileInfo(output).Length, root.GetProperty("bytes").GetInt64());
        var sections = root.GetProperty("sections").EnumerateArray().ToDictionary(s => s.GetProperty("name").GetString()!, s => s.GetProperty("size").GetInt32());
        Assert.Equal(16, sections[".rodata"]); // both objects' constants
        Assert.Equal(32, sections[".maps"]);   // one map: link_a's extern resolved to link_b's definition
        Assert.Equal(ObjectLinker.Link([new ObjectLinkInput("a", File.ReadAllBytes(Link("link_a.bpf.o"))), new ObjectLinkInput("b", File.ReadAllBytes(Link("link_b.bpf.o")))]),
            File.ReadAllBytes(output));

        var show = CliRunner.Run("obj", "show", output, "--json");
        Assert.Equal(0, show.ExitCode);
        using var shown = JsonDocument.Parse(show.Stdout);
        Assert.Equal(new[] { "link_a_prog", "link_b_prog" },
            shown.RootElement.GetProperty("programs").EnumerateArray().Select(p => p.GetProperty("name").GetString()).Order());

        var text = CliRunner.Run("obj", "link", output, Link("link_b.bpf.o"), Link("link_a.bpf.o"));
        Assert.Equal(0, text.ExitCode);
        Assert.StartsWith($"linked 2 objects into {output}", text.Stdout);
        Assert.Contains("0 unresolved externs", text.Stdout);
    }

    [Fact]
    public void ConflictsFailWithoutTouchingTheOutput()
    {
        string output = Path.Combine(_dir, "out.bpf.o");
        var dup = CliRunner.Run("obj", "link", output, Link("link_b.bpf.o"), Link("link_b.bpf.o"));
        Assert.Equal(1, dup.ExitCode);
        Assert.Contains("duplicate symbol", dup.Stderr);
        Assert.False(File.Exists(output));

        File.WriteAllText(output, "previous");
        var conflict = CliRunner.Run("obj", "link", output, Link("link_b.bpf.o"), Link("link_conflict.bpf.o"));
        Assert.Equal(1, conflict.ExitCode);
        Assert.Contains("conflicting definitions of 'link_results'", conflict.Stderr);
        Assert.Equal("previous", File.ReadAllText(output));

        var strict = CliRunner.Run("obj", "link", "--strict", output, Link("link_a.bpf.o"));
        Assert.Equal(1, strict.ExitCode);
        Assert.Contains("unresolved extern", strict.Stderr);
        Assert.Equal("previous", File.ReadAllText(output));

        var missing = CliRunner.Run("obj", "link", output, Path.Combine(_dir, "nope.o"));
        Assert.Equal(2, missing.ExitCode);
        Assert.Equal([Path.Combine(_dir, "out.bpf.o")], Directory.GetFiles(_dir)); // no temporary files either
    }
}
