using System.Buffers.Binary;
using System.CommandLine;
using System.Text;
using SharpBpf.Btf;
using SharpBpf.Maps;
using SharpBpf.Programs;

namespace SharpBpf.Cli.Commands;

/// <summary><c>sharpbpf btf list|dump</c>, like <c>bpftool btf</c>.</summary>
internal static class BtfCommands
{
    public static Command Build()
    {
        var btf = new Command("btf", "Inspect BTF: kernel BTF objects and BTF in files");

        var json = Common.JsonOption();
        var list = new Command("list", "List the BTF objects in the kernel (vmlinux, modules, loaded objects)") { json };
        list.Aliases.Add("ls");
        list.SetAction(p => List(p.GetValue(json)));
        btf.Subcommands.Add(list);

        var source = new Argument<string?>("source") { Description = "'id ID', 'file PATH' or just PATH", Arity = ArgumentArity.ZeroOrOne };
        var what = new Argument<string?>("what") { Description = "a BTF id (see 'btf list') or a path: raw BTF (/sys/kernel/btf/vmlinux, a module's split BTF) or an ELF object with a .BTF section", Arity = ArgumentArity.ZeroOrOne };
        var kernel = new Option<bool>("--kernel") { Description = "the running kernel's BTF (/sys/kernel/btf/vmlinux); with --format c a vmlinux.h" };
        var format = new Option<string>("--format", "-f") { Description = "raw: one entry per type like 'bpftool btf dump ... format raw'; c: C declarations (a vmlinux.h); csharp: C# structs and enums with the exact layout", DefaultValueFactory = _ => "raw" };
        format.AcceptOnlyFromAmong("raw", "c", "csharp");
        var types = new Option<string?>("--types") { Description = "csharp: only these types (comma-separated struct/union/enum/typedef names) and what they contain by value" };
        var ns = new Option<string>("--namespace") { Description = "csharp: the namespace of the generated types", DefaultValueFactory = _ => "Kernel" };
        var dump = new Command("dump", """
            Print the types of a BTF object or file: dump [id ID | file PATH | PATH | --kernel] [--format raw|c|csharp]

            Example (C# bindings with the kernel's exact offsets):
              sharpbpf btf dump --kernel --format csharp --types task_struct,sk_buff > Kernel.cs
            """) { source, what, kernel, format, types, ns };
        dump.SetAction(p => Dump(p.GetValue(source), p.GetValue(what), p.GetValue(kernel), p.GetValue(format)!, p.GetValue(types), p.GetValue(ns)!));
        btf.Subcommands.Add(dump);
        return btf;
    }

    private sealed record Row(BtfObjectInfo Info, List<uint> Programs, List<uint> Maps);

    private static int List(bool json)
    {
        var rows = Common.ReadAll(BtfHandle.EnumerateIds(), BtfHandle.FromId, h => new Row(h.GetInfo(), [], []));
        var byId = rows.ToDictionary(r => r.Info.Id);
        foreach (var (id, btfId) in Common.ReadAll(BpfProgram.EnumerateIds(), BpfProgram.FromId, p => (p.Id, p.GetInfo().BtfId)))
            if (byId.TryGetValue(btfId, out var r)) r.Programs.Add(id);
        foreach (var (id, btfId) in Common.ReadAll(BpfMap.EnumerateIds(), BpfMap.FromId, m => (m.Id, m.GetInfo().BtfId)))
            if (byId.TryGetValue(btfId, out var r)) r.Maps.Add(id);
        if (json)
        {
            Common.WriteJson(w =>
            {
                w.WriteStartArray();
                foreach (var r in rows)
                {
                    w.WriteStartObject();
                    w.WriteNumber("id", r.Info.Id);
                    w.WriteNumber("size", r.Info.Size);
                    w.WriteStartArray("prog_ids");
                    foreach (var p in r.Programs) w.WriteNumberValue(p);
                    w.WriteEndArray();
                    w.WriteStartArray("map_ids");
                    foreach (var m in r.Maps) w.WriteNumberValue(m);
                    w.WriteEndArray();
                    w.WriteBoolean("kernel", r.Info.IsKernel);
                    if (r.Info.Name.Length > 0) w.WriteString("name", r.Info.Name);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            });
            return 0;
        }
        // bpftool's plain format: "ID: name [vmlinux]  size NB  prog_ids 1,2  map_ids 3"
        foreach (var r in rows)
        {
            var sb = new StringBuilder();
            sb.Append(r.Info.Id).Append(": ");
            if (r.Info.IsKernel) sb.Append("name [").Append(r.Info.Name).Append("]  ");
            else if (r.Info.Name.Length > 0) sb.Append("name ").Append(r.Info.Name).Append("  ");
            else sb.Append("name <anon>  ");
            sb.Append("size ").Append(r.Info.Size).Append('B');
            if (r.Programs.Count > 0) sb.Append("  prog_ids ").Append(string.Join(',', r.Programs));
            if (r.Maps.Count > 0) sb.Append("  map_ids ").Append(string.Join(',', r.Maps));
            Output.Writer.WriteLine(sb.ToString());
        }
        return 0;
    }

    private const string KernelBtf = "/sys/kernel/btf/vmlinux";

    private static int Dump(string? source, string? what, bool kernel, string format, string? types, string ns)
    {
        if (types is not null && format != "csharp") throw new UsageException("--types goes with --format csharp");
        if (!System.Text.RegularExpressions.Regex.IsMatch(ns, @"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$"))
            throw new UsageException($"--namespace: '{ns}' is not a C# namespace name");
        if (kernel)
        {
            if (source is not null) throw new UsageException("--kernel takes no id or path");
            (source, what) = ("file", KernelBtf);
        }
        else if (source is null) throw new UsageException("what to dump: 'id ID', 'file PATH', PATH or --kernel");
        else if (what is null) (source, what) = ("file", source);
        else if (source is not ("id" or "file")) throw new UsageException($"'id ID' or 'file PATH', got '{source} {what}'");
        BtfSpec spec;
        if (source == "id")
        {
            if (!uint.TryParse(what, out uint id)) throw new UsageException($"'{what}' is not a BTF id");
            try
            {
                using var h = BtfHandle.FromId(id);
                spec = Parse(h.ReadRaw(), $"BTF id {id}", null);
            }
            catch (BpfException e) when (e.Errno == Interop.Errno.ENOENT)
            {
                throw new InvalidOperationException($"no BTF object with id {id}", e);
            }
        }
        else
        {
            var bytes = File.ReadAllBytes(what);
            // A module's BTF in /sys/kernel/btf is split BTF on top of vmlinux (bpftool does the same).
            string full = Path.GetFullPath(what);
            BtfSpec? baseSpec = full.StartsWith("/sys/kernel/btf/", StringComparison.Ordinal) && full != KernelBtf
                ? Parse(File.ReadAllBytes(KernelBtf), KernelBtf, null) : null;
            spec = Parse(IsElf(bytes) ? ElfBtfSection(bytes, what) : bytes, what, baseSpec);
        }
        if (format == "c") BtfCDump.Write(spec, Output.Writer);
        else if (format == "csharp")
        {
            var names = types?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            try
            {
                BtfCSharpDump.Write(spec, Output.Writer, names, ns);
            }
            catch (KeyNotFoundException e)
            {
                throw new UsageException($"--types: {e.Message}");
            }
        }
        else BtfDump.WriteRaw(spec, Output.Writer);
        return 0;
    }

    private static BtfSpec Parse(ReadOnlyMemory<byte> blob, string where, BtfSpec? baseSpec)
    {
        try
        {
            return BtfSpec.Parse(blob, baseSpec);
        }
        catch (BtfFormatException e)
        {
            throw new InvalidOperationException($"{where}: {e.Message}", e);
        }
    }

    private static bool IsElf(ReadOnlySpan<byte> b) => b.Length >= 4 && b[0] == 0x7f && b[1] == (byte)'E' && b[2] == (byte)'L' && b[3] == (byte)'F';

    /// <summary>The .BTF section of a little-endian ELF64 object (enough for BPF objects), bounds-checked.</summary>
    private static ReadOnlyMemory<byte> ElfBtfSection(byte[] elf, string path)
    {
        InvalidOperationException Bad(string what) => new($"{path}: not a readable ELF64 little-endian object ({what})");
        if (elf.Length < 64 || elf[4] != 2 || elf[5] != 1) throw Bad("header");
        var s = elf.AsSpan();
        ulong shoff = BinaryPrimitives.ReadUInt64LittleEndian(s[0x28..]);
        int shentsize = BinaryPrimitives.ReadUInt16LittleEndian(s[0x3a..]);
        int shnum = BinaryPrimitives.ReadUInt16LittleEndian(s[0x3c..]);
        int shstrndx = BinaryPrimitives.ReadUInt16LittleEndian(s[0x3e..]);
        if (shentsize < 64 || shstrndx >= shnum || shoff > (ulong)elf.Length || (ulong)shnum * (ulong)shentsize > (ulong)elf.Length - shoff)
            throw Bad("section headers");
        (ulong Off, ulong Size, uint Name) Header(int i)
        {
            var h = elf.AsSpan((int)shoff + i * shentsize, 64);
            ulong off = BinaryPrimitives.ReadUInt64LittleEndian(h[0x18..]), size = BinaryPrimitives.ReadUInt64LittleEndian(h[0x20..]);
            if (off > (ulong)elf.Length || size > (ulong)elf.Length - off) throw Bad($"section {i} outside the file");
            return (off, size, BinaryPrimitives.ReadUInt32LittleEndian(h));
        }
        var names = Header(shstrndx);
        for (int i = 1; i < shnum; i++)
        {
            var h = Header(i);
            if (h.Name >= names.Size) continue;
            var n = elf.AsSpan((int)(names.Off + h.Name), (int)(names.Size - h.Name));
            int nul = n.IndexOf((byte)0);
            if (nul >= 0 && n[..nul].SequenceEqual(".BTF"u8)) return elf.AsMemory((int)h.Off, (int)h.Size);
        }
        throw new InvalidOperationException($"{path}: the ELF object has no .BTF section");
    }
}
