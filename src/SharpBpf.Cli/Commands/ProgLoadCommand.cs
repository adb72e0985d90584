using System.CommandLine;
using SharpBpf.Btf;
using SharpBpf.Elf;
using SharpBpf.Programs;
using Spectre.Console;

namespace SharpBpf.Cli.Commands;

/// <summary><c>sharpbpf prog load OBJ [--pin DIR] [--json]</c>: loads every program of a BPF object (with its maps),
/// like <c>bpftool prog loadall</c>.</summary>
internal static class ProgLoadCommand
{
    public static Command Build()
    {
        var obj = new Argument<string>("object") { Description = "BPF ELF object (.bpf.o) built by clang" };
        var pin = new Option<string?>("--pin") { Description = "Pin each program as DIR/<name> in bpffs (created if missing); otherwise the programs are unloaded on exit" };
        var json = Common.JsonOption();
        var load = new Command("load", "Load every program of an object file; print name, type and xlated instructions") { obj, pin, json };
        load.SetAction(p => Run(p.GetValue(obj)!, p.GetValue(pin), p.GetValue(json)));
        return load;
    }

    private static int Run(string path, string? pinDir, bool json)
    {
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
}
