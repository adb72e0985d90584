using System.CommandLine;
using System.Text;
using SharpBpf.Links;
using SharpBpf.Programs;
using Spectre.Console;

namespace SharpBpf.Cli.Commands;

/// <summary><c>sharpbpf cgroup tree [ROOT]</c>, like <c>bpftool cgroup tree</c>: the programs attached to every cgroup
/// v2 directory under ROOT (default: the cgroup2 mount).</summary>
internal static class CgroupCommands
{
    public static Command Build()
    {
        var cgroup = new Command("cgroup", "BPF programs attached to cgroups (cgroup v2)");
        var json = Common.JsonOption();
        var root = new Argument<string?>("root") { Description = "cgroup v2 directory to start at (default: the cgroup2 mount)", Arity = ArgumentArity.ZeroOrOne };
        var tree = new Command("tree", "List the programs attached to every cgroup under ROOT") { root, json };
        tree.SetAction(p => Tree(p.GetValue(root), p.GetValue(json)));
        cgroup.Subcommands.Add(tree);
        return cgroup;
    }

    /// <summary>Every cgroup attach type, in enum order.</summary>
    private static readonly AttachType[] CgroupTypes =
        [.. Enum.GetValues<AttachType>().Where(t => CgroupLink.ProgramTypeFor(t) is not null)];

    /// <summary>libbpf's attach type name: CgroupInet4Connect → cgroup_inet4_connect.</summary>
    internal static string AttachTypeName(AttachType t)
    {
        string s = t.ToString();
        var sb = new StringBuilder(s.Length + 8);
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsUpper(s[i]) && i > 0) sb.Append('_');
            sb.Append(char.ToLowerInvariant(s[i]));
        }
        return sb.ToString();
    }

    private static string FlagsName(uint flags) => flags switch
    {
        0 => "",
        1 => "override",
        2 => "multi",
        _ => $"0x{flags:x}",
    };

    private sealed record Row(string Path, AttachType Type, uint ProgramId, uint Flags, string Name);

    private static int Tree(string? root, bool json)
    {
        root ??= CgroupFs.FindV2() ?? throw new UsageException("no cgroup2 filesystem is mounted; give a ROOT directory");
        if (!Directory.Exists(root)) throw new UsageException($"'{root}' is not a directory");
        var rows = new List<Row>();
        var pending = new Stack<string>();
        pending.Push(root);
        var dirs = new List<string>();
        while (pending.Count > 0)
        {
            string dir = pending.Pop();
            dirs.Add(dir);
            IEnumerable<string> children;
            try
            {
                children = Directory.EnumerateDirectories(dir).OrderByDescending(d => d, StringComparer.Ordinal).ToList();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue; // removed meanwhile
            }
            foreach (var c in children) pending.Push(c);
        }
        foreach (string dir in dirs)
        {
            foreach (var t in CgroupTypes)
            {
                AttachedPrograms attached;
                try
                {
                    attached = CgroupLink.Query(dir, t);
                }
                catch (BpfException e) when (e.Errno is Interop.Errno.EINVAL or Interop.Errno.ENOENT or Interop.Errno.EBADF)
                {
                    continue; // attach type unknown to this kernel, cgroup gone, or not a cgroup v2 directory
                }
                catch (DirectoryNotFoundException)
                {
                    break;
                }
                foreach (uint id in attached.ProgramIds)
                {
                    string name;
                    try
                    {
                        using var p = BpfProgram.FromId(id);
                        name = p.Name;
                    }
                    catch (BpfException)
                    {
                        name = "";
                    }
                    rows.Add(new Row(dir, t, id, attached.AttachFlags, name));
                }
            }
        }
        if (json)
        {
            // bpftool cgroup tree's shape
            Common.WriteJson(w =>
            {
                w.WriteStartArray();
                foreach (var g in rows.GroupBy(r => r.Path))
                {
                    w.WriteStartObject();
                    w.WriteString("cgroup", g.Key);
                    w.WriteStartArray("programs");
                    foreach (var r in g)
                    {
                        w.WriteStartObject();
                        w.WriteNumber("id", r.ProgramId);
                        w.WriteString("attach_type", AttachTypeName(r.Type));
                        w.WriteString("attach_flags", FlagsName(r.Flags));
                        w.WriteString("name", r.Name);
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            });
            return 0;
        }
        var table = new Table().AddColumns("CGROUP", "ID", "ATTACH_TYPE", "FLAGS", "NAME");
        foreach (var r in rows)
            table.AddRow(Markup.Escape(r.Path), r.ProgramId.ToString(), AttachTypeName(r.Type), FlagsName(r.Flags), Markup.Escape(r.Name));
        Output.Console.Write(table);
        Output.Writer.WriteLine($"{rows.Count} programs in {dirs.Count} cgroups");
        return 0;
    }
}
