using System.Buffers.Binary;
using System.CommandLine;
using SharpBpf.Links;
using SharpBpf.Symbols;

namespace SharpBpf.Cli.Tools;

/// <summary><c>sharpbpf bashreadline</c>: the command lines interactive bash shells read, from a uretprobe on
/// readline() in bash (or the libreadline it uses), like BCC's bashreadline.</summary>
internal static class BashReadline
{
    // struct readline_event in Tools/bpf/bashreadline.bpf.c
    private const int PidOff = 0, CommOff = 4, StrOff = 20, CommLen = 16, StrLen = 80;

    public static Command Build()
    {
        var o = new ToolOptions();
        var shell = new Option<string>("--shell", "-s") { Description = "The bash binary to probe (default: bash found on PATH)", DefaultValueFactory = _ => "bash" };
        var cmd = o.Command("bashreadline", "Print the command lines entered in interactive bash shells (uretprobe on readline)",
            "sharpbpf bashreadline --shell /bin/bash", pid: false);
        cmd.Options.Add(shell);
        ToolRunner.SetAction(cmd, (p, ct) => Run(p.GetRequiredValue(shell), p.GetValue(o.Json), o.GetDuration(p), ct));
        return cmd;
    }

    private static int Run(string shell, bool json, TimeSpan? duration, CancellationToken ct)
    {
        string bash = BinaryLocator.Resolve(shell);
        // readline lives in bash itself on Debian; builds linked against libreadline export it from there
        string target = bash;
        try
        {
            ElfSymbolTable.Read(bash).Find("readline");
        }
        catch (SymbolNotFoundException)
        {
            target = BinaryLocator.Resolve("libreadline.so.8");
        }
        using var s = ToolSession.Load("bashreadline");
        s.Keep(UprobeLink.Attach(s.Program("printret"), target, "readline", new UprobeOptions { Return = true }));
        var reader = s.RingBuffer();
        var ndjson = json ? new NdjsonWriter() : null;
        if (!json) Output.Writer.WriteLine($"{"TIME",-9} {"PID",-7} COMMAND");
        ToolRunner.Started($"Tracing readline() in {target}");
        return ToolRunner.Stream(reader, r => Print(r.Data, ndjson), duration, ct);
    }

    private static void Print(ReadOnlySpan<byte> e, NdjsonWriter? json)
    {
        uint pid = BinaryPrimitives.ReadUInt32LittleEndian(e[PidOff..]);
        string comm = ToolRunner.CString(e.Slice(CommOff, CommLen));
        string line = ToolRunner.CString(e.Slice(StrOff, StrLen));
        if (json is not null)
        {
            var w = json.Begin();
            w.WriteString("time", DateTime.UtcNow.ToString("O"));
            w.WriteNumber("pid", pid);
            w.WriteString("comm", comm);
            w.WriteString("command", line);
            json.End();
            return;
        }
        Output.Writer.WriteLine($"{DateTime.Now:HH:mm:ss}  {pid,-7} {line}");
        Output.Writer.Flush();
    }
}
