using System.CommandLine;
using System.Text;
using System.Text.Json;
using SharpBpf.Links;
using SharpBpf.Programs;
using Spectre.Console;

namespace SharpBpf.Cli.Commands;

/// <summary><c>sharpbpf link list|show ID|detach ID|pin ID PATH</c>, like <c>bpftool link</c>.</summary>
internal static class LinkCommands
{
    public static Command Build()
    {
        var link = new Command("link", "Inspect, pin and detach BPF links");
        link.Subcommands.Add(Common.ListCommand("List all links", List));
        link.Subcommands.Add(Common.IdCommand("show", "Show one link", "link", Show));

        var detachId = Common.IdArgument("link");
        var detach = new Command("detach", "Detach a link's program from its hook now, even if the link is pinned or held elsewhere (BPF_LINK_DETACH)") { detachId };
        detach.SetAction(p => Detach(p.GetValue(detachId)));
        link.Subcommands.Add(detach);

        var pinId = Common.IdArgument("link");
        var path = new Argument<string>("path") { Description = "Where to pin it, in bpffs (e.g. /sys/fs/bpf/mylink)" };
        var pin = new Command("pin", "Pin a link in bpffs so that it outlives the processes holding it") { pinId, path };
        pin.SetAction(p => Pin(p.GetValue(pinId), p.GetValue(path)!));
        link.Subcommands.Add(pin);
        return link;
    }

    internal static BpfLink Open(uint id)
    {
        try
        {
            return BpfLink.FromId(id);
        }
        catch (BpfException e) when (e.Errno == Interop.Errno.ENOENT)
        {
            throw new InvalidOperationException($"no link with id {id}", e);
        }
    }

    private static int List(bool json)
    {
        var infos = Common.ReadAll(BpfLink.EnumerateIds(), BpfLink.FromId, l => l.GetInfo());
        if (json)
        {
            Common.WriteJsonArray(infos, WriteInfo);
            return 0;
        }
        var table = new Table().AddColumns("ID", "TYPE", "PROG_ID", "DETAILS");
        foreach (var i in infos) table.AddRow(i.Id.ToString(), TypeName(i.Type), i.ProgramId.ToString(), Markup.Escape(Details(i)));
        Output.Console.Write(table);
        Output.Writer.WriteLine($"{infos.Count} links");
        return 0;
    }

    private static int Show(uint id, bool json)
    {
        LinkInfo info;
        using (var link = Open(id)) info = link.GetInfo();
        if (json)
        {
            Common.WriteJson(w => WriteInfo(w, info));
            return 0;
        }
        var grid = new Grid().AddColumn().AddColumn();
        foreach (var (key, value) in Fields(info)) grid.AddRow(key, Markup.Escape(value));
        Output.Console.Write(grid);
        return 0;
    }

    private static int Detach(uint id)
    {
        using var link = Open(id);
        link.Detach();
        Output.Writer.WriteLine($"detached link {id} ({TypeName(link.Type)})");
        return 0;
    }

    private static int Pin(uint id, string path)
    {
        using var link = Open(id);
        link.Pin(path);
        Output.Writer.WriteLine($"pinned link {id} ({TypeName(link.Type)}) at {path}");
        return 0;
    }

    /// <summary>bpftool's names: the kernel enum name without BPF_LINK_TYPE_, lower case.</summary>
    internal static string TypeName(LinkType t) => Enum.IsDefined(t) ? Snake(t.ToString()) : $"type {(uint)t}";

    internal static string AttachTypeName(AttachType t) => Enum.IsDefined(t) ? Snake(t.ToString()) : $"type {(uint)t}";

    private static string Snake(string pascal)
    {
        var sb = new StringBuilder(pascal.Length + 4);
        for (int i = 0; i < pascal.Length; i++)
        {
            char c = pascal[i];
            if (char.IsUpper(c) && i > 0) sb.Append('_');
            sb.Append(char.ToLowerInvariant(c));
        }
        return sb.ToString();
    }

    /// <summary>The kind-specific fields, in bpftool's JSON names where it has them.</summary>
    private static List<(string Key, string Value)> Fields(LinkInfo i)
    {
        var f = new List<(string, string)> { ("id", i.Id.ToString()), ("type", TypeName(i.Type)), ("prog_id", i.ProgramId.ToString()) };
        switch (i)
        {
            case RawTracepointLinkInfo r:
                f.Add(("tp_name", r.Name));
                if (r.Cookie != 0) f.Add(("cookie", r.Cookie.ToString()));
                break;
            case TracingLinkInfo t:
                f.Add(("attach_type", AttachTypeName(t.AttachType)));
                f.Add(("target_obj_id", t.TargetObjectId.ToString()));
                f.Add(("target_btf_id", t.TargetBtfId.ToString()));
                if (t.Cookie != 0) f.Add(("cookie", t.Cookie.ToString()));
                break;
            case IterLinkInfo it:
                f.Add(("target_name", it.TargetName));
                if (it.MapId != 0) f.Add(("map_id", it.MapId.ToString()));
                break;
            case XdpLinkInfo x:
                f.Add(("ifindex", x.IfIndex.ToString()));
                break;
            case TcxLinkInfo t:
                f.Add(("ifindex", t.IfIndex.ToString()));
                f.Add(("attach_type", AttachTypeName(t.AttachType)));
                break;
            case NetfilterLinkInfo nf:
                f.Add(("pf", ((uint)nf.Family).ToString()));
                f.Add(("hook", ((uint)nf.Hook).ToString()));
                f.Add(("prio", nf.Priority.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                f.Add(("flags", ((uint)nf.Flags).ToString()));
                break;
            case SockMapLinkInfo sm:
                f.Add(("map_id", sm.MapId.ToString()));
                f.Add(("attach_type", AttachTypeName(sm.AttachType)));
                break;
            case StructOpsLinkInfo so:
                f.Add(("map_id", so.MapId.ToString()));
                break;
            case PerfEventLinkInfo p:
                f.Add(("perf_event_type", Snake(p.Kind.ToString())));
                if (p.Name is not null) f.Add(("tracepoint", p.Name));
                if (p.Kind == PerfEventKind.Event)
                {
                    f.Add(("event_type", p.EventType.ToString()));
                    f.Add(("event_config", p.EventConfig.ToString()));
                }
                if (p.Cookie != 0) f.Add(("cookie", p.Cookie.ToString()));
                break;
        }
        return f;
    }

    private static string Details(LinkInfo i) =>
        string.Join(' ', Fields(i).Skip(3).Select(kv => $"{kv.Key}={kv.Value}"));

    private static void WriteInfo(Utf8JsonWriter w, LinkInfo i)
    {
        w.WriteStartObject();
        foreach (var (key, value) in Fields(i))
        {
            if (key is not ("type" or "tp_name" or "attach_type" or "target_name" or "perf_event_type" or "tracepoint") && ulong.TryParse(value, out ulong n))
                w.WriteNumber(key, n);
            else if (key == "prio")
                w.WriteNumber(key, long.Parse(value, System.Globalization.CultureInfo.InvariantCulture));
            else
                w.WriteString(key, value);
        }
        w.WriteEndObject();
    }
}
