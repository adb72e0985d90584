using System.CommandLine;
using SharpBpf.Links;
using Spectre.Console;

namespace SharpBpf.Cli.Commands;

/// <summary><c>sharpbpf perf list</c>, like <c>bpftool perf</c>: which process holds which perf event or raw
/// tracepoint attachment (BPF_TASK_FD_QUERY on every perf event and link fd under /proc).</summary>
internal static class PerfCommands
{
    public static Command Build()
    {
        var perf = new Command("perf", "Perf event attachments (tracepoints, kprobes, uprobes, raw tracepoints) and the processes holding them");
        perf.Subcommands.Add(Common.ListCommand("List every perf-event attachment with its pid and fd", List));
        return perf;
    }

    private static int List(bool json)
    {
        var all = PerfAttachment.EnumerateAll();
        if (json)
        {
            Common.WriteJsonArray(all, (w, a) =>
            {
                // bpftool perf's field names
                w.WriteStartObject();
                w.WriteNumber("pid", a.Pid);
                w.WriteNumber("fd", a.Fd);
                w.WriteNumber("prog_id", a.ProgramId);
                w.WriteString("fd_type", FdTypeName(a.Kind));
                switch (a.Kind)
                {
                    case PerfAttachmentKind.RawTracepoint or PerfAttachmentKind.Tracepoint:
                        w.WriteString("tracepoint", a.Name);
                        break;
                    case PerfAttachmentKind.Kprobe or PerfAttachmentKind.Kretprobe:
                        if (a.Name.Length > 0)
                        {
                            w.WriteString("func", a.Name);
                            w.WriteNumber("offset", a.ProbeOffset);
                        }
                        else w.WriteNumber("addr", a.ProbeAddress);
                        break;
                    default:
                        w.WriteString("filename", a.Name);
                        w.WriteNumber("offset", a.ProbeOffset);
                        break;
                }
                w.WriteEndObject();
            });
            return 0;
        }
        var table = new Table().AddColumns("PID", "FD", "PROG_ID", "TYPE", "TARGET");
        foreach (var a in all)
        {
            string target = a.Kind switch
            {
                PerfAttachmentKind.RawTracepoint or PerfAttachmentKind.Tracepoint => a.Name,
                _ when a.Name.Length == 0 => $"0x{a.ProbeAddress:x}",
                _ => a.ProbeOffset == 0 ? a.Name : $"{a.Name}+0x{a.ProbeOffset:x}",
            };
            table.AddRow(a.Pid.ToString(), a.Fd.ToString(), a.ProgramId.ToString(), FdTypeName(a.Kind), Markup.Escape(target));
        }
        Output.Console.Write(table);
        Output.Writer.WriteLine($"{all.Count} attachments");
        return 0;
    }

    internal static string FdTypeName(PerfAttachmentKind k) => k switch
    {
        PerfAttachmentKind.RawTracepoint => "raw_tracepoint",
        PerfAttachmentKind.Tracepoint => "tracepoint",
        PerfAttachmentKind.Kprobe => "kprobe",
        PerfAttachmentKind.Kretprobe => "kretprobe",
        PerfAttachmentKind.Uprobe => "uprobe",
        PerfAttachmentKind.Uretprobe => "uretprobe",
        _ => $"type {(uint)k}",
    };
}
