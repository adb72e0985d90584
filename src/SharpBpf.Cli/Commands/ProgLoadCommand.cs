using System.CommandLine;
using SharpBpf.Btf;
using SharpBpf.Elf;
using SharpBpf.Links;
using SharpBpf.Programs;
using Spectre.Console;

namespace SharpBpf.Cli.Commands;

/// <summary><c>sharpbpf prog load OBJ [--pin DIR] [--attach [--duration SECONDS]] [--json]</c>: loads every program
/// of a BPF object (with its maps), like <c>bpftool prog loadall</c>; with <c>--attach</c> attaches them by section
/// name (a libbpf skeleton's attach()), keeps them attached until Ctrl+C, SIGTERM or the duration, then detaches
/// everything.</summary>
internal static class ProgLoadCommand
{
    public static Command Build()
    {
        var obj = new Argument<string>("object") { Description = "BPF ELF object (.bpf.o) built by clang" };
        var pin = new Option<string?>("--pin") { Description = "Pin each program as DIR/<name> in bpffs (created if missing); otherwise the programs are unloaded on exit" };
        var attach = new Option<bool>("--attach") { Description = "Attach every program its section name places (tracepoint/, raw_tp/, tp_btf/, fentry/, lsm/, iter/ ...), stay attached until Ctrl+C, SIGTERM or --duration, then detach" };
        var duration = new Option<double?>("--duration") { Description = "With --attach: detach and exit after this many seconds" };
        var json = Common.JsonOption();
        var load = new Command("load", "Load every program of an object file; print name, type and xlated instructions") { obj, pin, attach, duration, json };
        load.SetAction(p => Run(p.GetValue(obj)!, p.GetValue(pin), p.GetValue(attach), p.GetValue(duration), p.GetValue(json)));
        return load;
    }

    private static int Run(string path, string? pinDir, bool attach, double? duration, bool json)
    {
        if (duration is { } d && (!attach || d < 0 || double.IsNaN(d) || d > int.MaxValue / 1000.0))
            throw new UsageException(attach ? $"--duration {d} is not a number of seconds" : "--duration needs --attach");
        var spec = ObjCommands.Read(path);
        BpfCollection coll;
        try
        {
            coll = BpfCollection.Load(spec);
        }
        catch (CollectionLoadException e)
        {
            // The verifier's own words: the failing program, then the tail of its log.
            string detail = e.InnerException is BpfVerifierException v ? v.ToString() : e.InnerException?.Message ?? "";
            throw new InvalidOperationException($"{e.Kind} '{e.Name}' failed to load: {detail}", e);
        }
        using (coll)
        {
            var pinned = new List<string>();
            if (pinDir is not null)
            {
                Directory.CreateDirectory(pinDir);
                try
                {
                    foreach (var (name, prog) in coll.Programs)
                    {
                        string p = Path.Combine(pinDir, name);
                        prog.Pin(p);
                        pinned.Add(p);
                    }
                }
                catch
                {
                    foreach (var p in pinned) File.Delete(p);
                    throw;
                }
            }
            var rows = coll.Programs.Select(kv => (Name: kv.Key, Spec: spec.Programs[kv.Key], Info: kv.Value.GetInfo())).ToList();
            if (attach) return RunAttached(coll, rows.Select(r => (r.Name, r.Spec.SectionName, r.Info)).ToList(), duration, json);
            if (json)
            {
                Common.WriteJson(w =>
                {
                    w.WriteStartArray();
                    foreach (var r in rows)
                    {
                        w.WriteStartObject();
                        w.WriteString("name", r.Name);
                        w.WriteString("type", ProgCommands.TypeName(r.Info.Type));
                        w.WriteString("section", r.Spec.SectionName);
                        w.WriteNumber("id", r.Info.Id);
                        w.WriteNumber("insns", r.Spec.Instructions.Length);
                        w.WriteNumber("xlated_insns", r.Info.XlatedSize / 8);
                        if (pinDir is not null) w.WriteString("pinned", Path.Combine(pinDir, r.Name));
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                });
                return 0;
            }
            var table = new Table().AddColumns("NAME", "TYPE", "SECTION", "ID", "INSNS", "XLATED_INSNS");
            foreach (var r in rows)
                table.AddRow(Markup.Escape(r.Name), ProgCommands.TypeName(r.Info.Type), Markup.Escape(r.Spec.SectionName), r.Info.Id.ToString(),
                    r.Spec.Instructions.Length.ToString(), (r.Info.XlatedSize / 8).ToString());
            Output.Console.Write(table);
            Output.Writer.WriteLine($"{rows.Count} programs loaded{(pinDir is null ? "" : $", pinned under {pinDir}")}");
            foreach (var w in coll.Warnings) Output.Writer.WriteLine("warning: " + w);
            return 0;
        }
    }

    private static int RunAttached(BpfCollection coll, List<(string Name, string Section, ProgramInfo Info)> programs, double? duration, bool json)
    {
        AttachedLinks links;
        try
        {
            links = coll.AttachAll();
        }
        catch (AutoAttachException e)
        {
            throw new InvalidOperationException($"program '{e.ProgramName}' (section '{e.SectionName}') failed to attach, nothing stays attached: {e.InnerException?.Message}", e);
        }
        using (links)
        {
            if (json)
            {
                Common.WriteJson(w =>
                {
                    w.WriteStartObject();
                    w.WriteStartArray("attached");
                    foreach (var (name, link) in links)
                    {
                        w.WriteStartObject();
                        w.WriteString("name", name);
                        w.WriteString("section", coll.SectionNames[name]);
                        w.WriteNumber("prog_id", coll.Programs[name].Id);
                        w.WriteNumber("link_id", link.Id);
                        w.WriteString("link_type", LinkCommands.TypeName(link.Type));
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                    w.WriteStartArray("skipped");
                    foreach (var (name, reason) in links.Skipped)
                    {
                        w.WriteStartObject();
                        w.WriteString("name", name);
                        w.WriteString("reason", reason);
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                    w.WriteEndObject();
                });
            }
            else
            {
                var table = new Table().AddColumns("NAME", "SECTION", "PROG_ID", "LINK_ID", "LINK");
                foreach (var (name, link) in links)
                    table.AddRow(Markup.Escape(name), Markup.Escape(coll.SectionNames[name]), coll.Programs[name].Id.ToString(), link.Id.ToString(), Markup.Escape(link.ToString()));
                Output.Console.Write(table);
                foreach (var (name, reason) in links.Skipped) Output.Writer.WriteLine($"not attached: {name}: {reason}");
                Output.Writer.WriteLine($"{links.Count} of {programs.Count} programs attached; "
                    + (duration is { } d ? $"detaching in {d} s" : "press Ctrl+C to detach"));
            }
            Output.Writer.Flush();
            using var stop = new StopSignals();
            if (duration is { } seconds) stop.Token.WaitHandle.WaitOne(TimeSpan.FromSeconds(seconds));
            else stop.Token.WaitHandle.WaitOne();
        }
        if (!json) Output.Writer.WriteLine($"detached {links.Count} links");
        return 0;
    }
}
