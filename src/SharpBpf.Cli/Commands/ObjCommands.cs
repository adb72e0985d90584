using System.CommandLine;
using System.Text.Json;
using SharpBpf.Btf;
using SharpBpf.Core;
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
        var core = new Option<bool>("--core") { Description = "Also apply the CO-RE relocations (against the running kernel's BTF, or --btf) and show each result" };
        var btf = new Option<string?>("--btf") { Description = "With --core: relocate against this BTF file (raw BTF, e.g. a copy of /sys/kernel/btf/vmlinux) instead of the kernel's" };
        var show = new Command("show", "Show the sections, maps, programs and relocations of an object") { file, json, core, btf };
        show.SetAction(p => Show(p.GetValue(file)!, p.GetValue(json), p.GetValue(core), p.GetValue(btf)));
        obj.Subcommands.Add(show);

        var output = new Argument<string>("output") { Description = "The linked object to write" };
        var inputs = new Argument<string[]>("inputs") { Description = "BPF ELF objects to link, in order", Arity = ArgumentArity.OneOrMore };
        var strict = new Option<bool>("--strict") { Description = "Fail when an extern (other than __kconfig/__ksym) has no definition in any input" };
        var link = new Command("link", "Statically link BPF objects into one (like bpftool gen object)") { output, inputs, strict, json };
        link.SetAction(p => Link(p.GetValue(output)!, p.GetValue(inputs)!, p.GetValue(strict), p.GetValue(json)));
        obj.Subcommands.Add(link);
        return obj;
    }

    /// <summary><c>sharpbpf obj link OUT IN...</c>: writes OUT only when linking succeeds.</summary>
    private static int Link(string output, string[] inputs, bool strict, bool json)
    {
        foreach (var path in inputs)
            if (!File.Exists(path)) throw new UsageException($"no such file: {path}");
        try
        {
            ObjectLinker.LinkFiles(inputs, output, new ObjectLinkOptions { Strict = strict });
        }
        catch (ObjectLinkException e)
        {
            throw new InvalidOperationException(e.Message, e);
        }
        var elf = ElfFile.Parse(File.ReadAllBytes(output));
        var sections = elf.Sections.Where(s => s.Index != 0 && s.Type is ElfSection.SHT_PROGBITS or ElfSection.SHT_NOBITS).ToList();
        int globals = elf.Symbols.Count(s => s.IsGlobal), externs = elf.Symbols.Count(s => s.IsGlobal && s.SectionIndex == ElfSymbol.SHN_UNDEF);
        if (json)
        {
            Common.WriteJson(w =>
            {
                w.WriteStartObject();
                w.WriteString("output", output);
                w.WriteNumber("bytes", elf.Data.Length);
                w.WriteStartArray("inputs");
                foreach (var i in inputs) w.WriteStringValue(i);
                w.WriteEndArray();
                w.WriteNumber("globals", globals);
                w.WriteNumber("unresolved_externs", externs);
                w.WriteStartArray("sections");
                foreach (var s in sections)
                {
                    w.WriteStartObject();
                    w.WriteString("name", s.Name);
                    w.WriteNumber("size", s.Size);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            });
            return 0;
        }
        Output.Writer.WriteLine($"linked {inputs.Length} objects into {output} ({elf.Data.Length} bytes): {string.Join(", ", sections.Select(s => $"{s.Name} {s.Size}"))}; {globals} global symbols, {externs} unresolved externs");
        return 0;
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

    /// <summary>The CO-RE results of every program, or null without --core.</summary>
    private static IReadOnlyDictionary<string, IReadOnlyList<CoreRelocationResult>>? CoreResults(CollectionSpec spec, bool core, string? btfPath)
    {
        if (!core)
        {
            if (btfPath is not null) throw new UsageException("--btf needs --core");
            return null;
        }
        BtfSpec target;
        if (btfPath is not null)
        {
            if (!File.Exists(btfPath)) throw new UsageException($"no such file: {btfPath}");
            try
            {
                target = BtfSpec.Parse(File.ReadAllBytes(btfPath));
            }
            catch (BtfFormatException e)
            {
                throw new InvalidOperationException($"{btfPath}: {e.Message}", e);
            }
        }
        else target = BtfSpec.Kernel;
        try
        {
            return CoreRelocator.Relocate(spec, target);
        }
        catch (CoreRelocationException e)
        {
            throw new InvalidOperationException(e.Message, e);
        }
    }

    private static string CoreOutcome(CoreRelocationResult r) =>
        r.Poisoned ? "poisoned: " + r.PoisonReason
        : r.NewSize != r.OldSize ? $"{r.OldValue} -> {r.NewValue} (size {r.OldSize} -> {r.NewSize})"
        : $"{r.OldValue} -> {r.NewValue}";

    private static int Show(string path, bool json, bool core = false, string? btfPath = null)
    {
        var spec = Read(path);
        var coreResults = CoreResults(spec, core, btfPath);
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
                    if (coreResults is not null)
                    {
                        w.WriteStartArray("core");
                        foreach (var r in coreResults.GetValueOrDefault(name) ?? [])
                        {
                            w.WriteStartObject();
                            w.WriteNumber("insn", r.Instruction);
                            w.WriteString("kind", r.KindName);
                            w.WriteString("path", r.TypePath);
                            w.WriteString("access", r.AccessString);
                            w.WriteNumber("local_type_id", r.LocalTypeId);
                            w.WriteString("local", r.LocalSpec);
                            if (r.TargetSpec is { } ts) w.WriteString("target", ts);
                            else w.WriteNull("target");
                            w.WriteNumber("target_type_id", r.TargetTypeId);
                            w.WriteNumber("old_value", r.OldValue);
                            w.WriteNumber("new_value", r.NewValue);
                            if (r.NewSize != r.OldSize)
                            {
                                w.WriteNumber("old_size", r.OldSize);
                                w.WriteNumber("new_size", r.NewSize);
                            }
                            w.WriteBoolean("poisoned", r.Poisoned);
                            if (r.PoisonReason is { } why) w.WriteString("poison_reason", why);
                            w.WriteEndObject();
                        }
                        w.WriteEndArray();
                    }
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
        if (coreResults is not null)
        {
            var ct = new Table().AddColumns("PROGRAM", "INSN", "KIND", "LOCAL", "TARGET", "RESULT");
            foreach (var (name, results) in coreResults)
                foreach (var r in results)
                    ct.AddRow(Markup.Escape(name), r.Instruction.ToString(), r.KindName, Markup.Escape(r.LocalSpec), Markup.Escape(r.TargetSpec ?? "-"), Markup.Escape(CoreOutcome(r)));
            Output.Writer.WriteLine($"CO-RE relocations: {coreResults.Values.Sum(l => l.Count)} ({coreResults.Values.Sum(l => l.Count(r => r.Poisoned))} poisoned)");
            o.Write(ct);
        }
        return 0;
    }
}
