using System.CommandLine;
using System.Text.Json;
using SharpBpf.Btf;
using SharpBpf.Elf;
using SharpBpf.Maps;
using SharpBpf.Programs;
using Spectre.Console;

namespace SharpBpf.Cli.Commands;

/// <summary><c>sharpbpf obj show OBJ</c>: what a BPF object holds (no kernel needed).</summary>
internal static class ObjCommands
{
    public static Command Build()
    {
        var obj = new Command("obj", "Inspect BPF ELF object files");
        var file = new Argument<string>("object") { Description = "BPF ELF object (.bpf.o)" };
        var json = Common.JsonOption();
        var show = new Command("show", "Show the sections, maps, programs and relocations of an object") { file, json };
        show.SetAction(p => Show(p.GetValue(file)!, p.GetValue(json)));
        obj.Subcommands.Add(show);
        return obj;
    }

    /// <summary>Reads an object, turning format errors into one-line CLI errors.</summary>
    internal static CollectionSpec Read(string path)
    {
        if (!File.Exists(path)) throw new UsageException($"no such file: {path}");
        try
        {
            return ElfReader.ReadFile(path);
        }
        catch (Exception e) when (e is ElfFormatException or BtfFormatException)
        {
            throw new InvalidOperationException($"{path}: {e.Message}", e);
        }
    }

    private static string Kind(ElfSection s) =>
        s.IsExecutable ? (s.Name == ".text" ? "subprograms" : ProgramSections.TryClassify(s.Name, out var i) ? "program " + ProgCommands.TypeName(i.Type) : "code (unknown)")
        : s.Name is "maps" ? "legacy maps"
        : s.Name is ".maps" ? "BTF maps"
        : s.Name is "license" or "version" or ".BTF" or ".BTF.ext" ? s.Name.TrimStart('.')
        : ElfReader.IsDataSection(s.Name) ? "global data"
        : s.Type == ElfSection.SHT_REL ? "relocations"
        : s.Type == ElfSection.SHT_SYMTAB ? "symbols"
        : s.Type == ElfSection.SHT_STRTAB ? "strings"
        : "";

    private static string Relocations(ProgramSpec p)
    {
        var parts = p.MapReferences.Select(r => $"{r.Instruction}:{(r.Kind == MapReferenceKind.Map ? "map" : "value")} {r.MapName}{(r.Kind == MapReferenceKind.Value ? "+" + r.Offset : "")}");
        return string.Join(", ", parts);
    }

    private static int Show(string path, bool json)
    {
        var spec = Read(path);
        var elf = ElfFile.Parse(File.ReadAllBytes(path));
        var sections = elf.Sections.Where(s => s.Index != 0).ToList();
        if (json)
        {
            Common.WriteJson(w =>
            {
                w.WriteStartObject();
                w.WriteString("name", spec.Name);
                w.WriteString("license", spec.License);
                w.WriteNumber("kern_version", spec.KernelVersion);
                w.WriteStartArray("sections");
                foreach (var s in sections)
                {
                    w.WriteStartObject();
                    w.WriteNumber("index", s.Index);
                    w.WriteString("name", s.Name);
                    w.WriteNumber("size", s.Size);
                    w.WriteString("kind", Kind(s));
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteStartArray("maps");
                foreach (var (name, m) in spec.Maps)
                {
                    w.WriteStartObject();
                    w.WriteString("name", name);
                    w.WriteString("kernel_name", m.Name);
                    w.WriteString("type", m.Type.ToString());
                    w.WriteNumber("key_size", m.KeySize);
                    w.WriteNumber("value_size", m.ValueSize);
                    w.WriteNumber("max_entries", m.MaxEntries);
                    w.WriteNumber("flags", (uint)m.Flags);
                    w.WriteString("pinning", m.Pinning.ToString());
                    if (m.InnerMap is { } inner) w.WriteString("inner", inner.ToString());
                    w.WriteNumber("initial_entries", m.Contents?.Count ?? 0);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteStartArray("programs");
                foreach (var (name, p) in spec.Programs)
                {
                    w.WriteStartObject();
                    w.WriteString("name", name);
                    w.WriteString("section", p.SectionName);
                    w.WriteString("type", ProgCommands.TypeName(p.Type));
                    if (p.ExpectedAttachType is { } eat) w.WriteString("expected_attach_type", eat.ToString());
                    if (p.AttachTo is { } to) w.WriteString("attach_to", to);
                    w.WriteNumber("insns", p.Instructions.Length);
                    w.WriteStartArray("functions");
                    foreach (var f in p.Functions) w.WriteStringValue($"{f.Name}@{f.Start}");
                    w.WriteEndArray();
                    w.WriteStartArray("relocations");
                    foreach (var r in p.MapReferences)
                    {
                        w.WriteStartObject();
                        w.WriteNumber("insn", r.Instruction);
                        w.WriteString("kind", r.Kind == MapReferenceKind.Map ? "map" : "value");
                        w.WriteString("map", r.MapName);
                        w.WriteNumber("offset", r.Offset);
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            });
            return 0;
        }
        var o = Output.Console;
        Output.Writer.WriteLine($"object {spec.Name}: license \"{spec.License}\"{(spec.KernelVersion != 0 ? $", kern_version 0x{spec.KernelVersion:x}" : "")}, {spec.Maps.Count} maps, {spec.Programs.Count} programs");
        var st = new Table().AddColumns("IDX", "SECTION", "SIZE", "KIND");
        foreach (var s in sections) st.AddRow(s.Index.ToString(), Markup.Escape(s.Name), s.Size.ToString(), Markup.Escape(Kind(s)));
        o.Write(st);
        var mt = new Table().AddColumns("MAP", "KERNEL NAME", "TYPE", "KEY", "VALUE", "MAX_ENTRIES", "FLAGS", "PINNING", "INITIAL");
        foreach (var (name, m) in spec.Maps)
            mt.AddRow(Markup.Escape(name), Markup.Escape(m.Name), m.Type.ToString(), m.KeySize.ToString(), m.ValueSize.ToString(), m.MaxEntries.ToString(),
                m.Flags.ToString(), m.Pinning.ToString(), (m.Contents?.Count ?? 0).ToString());
        o.Write(mt);
        var pt = new Table().AddColumns("PROGRAM", "SECTION", "TYPE", "ATTACH", "INSNS", "FUNCTIONS", "RELOCATIONS");
        foreach (var (name, p) in spec.Programs)
            pt.AddRow(Markup.Escape(name), Markup.Escape(p.SectionName), ProgCommands.TypeName(p.Type), Markup.Escape(p.AttachTo ?? p.ExpectedAttachType?.ToString() ?? "-"),
                p.Instructions.Length.ToString(), Markup.Escape(string.Join(" ", p.Functions.Select(f => $"{f.Name}@{f.Start}"))), Markup.Escape(Relocations(p)));
        o.Write(pt);
        return 0;
    }
}
