using System.CommandLine;
using SharpBpf.Links;
using SharpBpf.Programs;
using Spectre.Console;

namespace SharpBpf.Cli.Commands;

/// <summary><c>sharpbpf net list</c>, like <c>bpftool net</c>: XDP, tcx and clsact/cls_bpf programs per interface of
/// the current network namespace.</summary>
internal static class NetCommands
{
    public static Command Build()
    {
        var net = new Command("net", "BPF programs on network interfaces (XDP, tcx, tc clsact filters)");
        net.Subcommands.Add(Common.ListCommand("List the XDP, tcx and tc programs of every interface", List));
        return net;
    }

    private static string ProgramName(uint id)
    {
        try
        {
            using var p = BpfProgram.FromId(id);
            return p.Name;
        }
        catch (BpfException)
        {
            return "";
        }
    }

    internal static string XdpModeName(XdpAttachMode mode) => mode switch
    {
        XdpAttachMode.Generic => "generic",
        XdpAttachMode.Native => "driver",
        XdpAttachMode.Offload => "offload",
        _ => "unknown",
    };

    private static string Dir(TcDirection d) => d == TcDirection.Egress ? "egress" : "ingress";

    private static int List(bool json)
    {
        var all = NetworkAttachments.List();
        if (json)
        {
            // bpftool net's shape and field names; tcx entries as bpftool 7.3+ prints them
            Common.WriteJson(w =>
            {
                w.WriteStartArray();
                w.WriteStartObject();
                w.WriteStartArray("xdp");
                foreach (var i in all)
                    foreach (var x in i.Xdp)
                    {
                        w.WriteStartObject();
                        w.WriteString("devname", i.Name);
                        w.WriteNumber("ifindex", i.IfIndex);
                        w.WriteString("mode", XdpModeName(x.Mode));
                        w.WriteNumber("id", x.ProgramId);
                        w.WriteEndObject();
                    }
                w.WriteEndArray();
                w.WriteStartArray("tc");
                foreach (var i in all)
                {
                    foreach (var t in i.Tcx)
                    {
                        w.WriteStartObject();
                        w.WriteString("devname", i.Name);
                        w.WriteNumber("ifindex", i.IfIndex);
                        w.WriteString("kind", $"tcx/{Dir(t.Direction)}");
                        w.WriteString("name", ProgramName(t.ProgramId));
                        w.WriteNumber("prog_id", t.ProgramId);
                        if (t.LinkId != 0) w.WriteNumber("link_id", t.LinkId);
                        w.WriteEndObject();
                    }
                    foreach (var f in i.TcFilters)
                    {
                        w.WriteStartObject();
                        w.WriteString("devname", i.Name);
                        w.WriteNumber("ifindex", i.IfIndex);
                        w.WriteString("kind", $"clsact/{Dir(f.Direction)}");
                        if (f.Name is not null) w.WriteString("name", f.Name);
                        w.WriteNumber("id", f.ProgramId);
                        w.WriteNumber("prio", f.Priority);
                        w.WriteNumber("handle", f.Handle);
                        w.WriteBoolean("direct_action", f.DirectAction);
                        if (f.OwnerPid is { } pid) w.WriteNumber("owner_pid", pid);
                        w.WriteEndObject();
                    }
                }
                w.WriteEndArray();
                w.WriteEndObject();
                w.WriteEndArray();
            });
            return 0;
        }
        var table = new Table().AddColumns("IFINDEX", "DEVICE", "HOOK", "PROG_ID", "NAME", "DETAILS");
        int rows = 0;
        foreach (var i in all)
        {
            foreach (var x in i.Xdp)
            {
                table.AddRow(i.IfIndex.ToString(), Markup.Escape(i.Name), $"xdp/{XdpModeName(x.Mode)}", x.ProgramId.ToString(),
                    Markup.Escape(ProgramName(x.ProgramId)), "");
                rows++;
            }
            foreach (var t in i.Tcx)
            {
                table.AddRow(i.IfIndex.ToString(), Markup.Escape(i.Name), $"tcx/{Dir(t.Direction)}", t.ProgramId.ToString(),
                    Markup.Escape(ProgramName(t.ProgramId)), t.LinkId != 0 ? $"link {t.LinkId}" : "");
                rows++;
            }
            foreach (var f in i.TcFilters)
            {
                string details = $"prio {f.Priority} handle {f.Handle:x}" + (f.DirectAction ? " direct-action" : "") +
                                 (f.OwnerPid is { } pid ? $" owner pid {pid}" : "");
                table.AddRow(i.IfIndex.ToString(), Markup.Escape(i.Name), $"clsact/{Dir(f.Direction)}", f.ProgramId.ToString(),
                    Markup.Escape(f.Name ?? f.Kind), Markup.Escape(details));
                rows++;
            }
        }
        Output.Console.Write(table);
        Output.Writer.WriteLine($"{rows} attachments on {all.Count} interfaces");
        return 0;
    }
}
