using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Iced.Intel;
using Instruction = SharpBpf.Asm.Instruction;
using SharpBpf.Asm;
using SharpBpf.Btf;
using SharpBpf.Maps;
using SharpBpf.Programs;

namespace SharpBpf.Cli.Commands;

/// <summary><c>sharpbpf prog dump xlated|jited ID</c>, like <c>bpftool prog dump</c>: the kernel-translated BPF
/// instructions through our verifier-syntax disassembler, and the JITed x86-64 image through Iced; functions from
/// func_info, source lines from line_info and the program's BTF.</summary>
internal static class ProgDumpCommands
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static Command Build()
    {
        var dump = new Command("dump", "Dump a loaded program's code: 'xlated' (BPF instructions) or 'jited' (x86-64)");
        dump.Subcommands.Add(Common.IdCommand("xlated", "Disassemble the kernel-translated BPF instructions", "prog", Xlated));
        dump.Subcommands.Add(Common.IdCommand("jited", "Disassemble the JIT-compiled x86-64 code", "prog", Jited));
        return dump;
    }

    /// <summary>Everything a dump prints, read once.</summary>
    private sealed class Context
    {
        public required ProgramInfo Info { get; init; }
        public required ProgramCode Code { get; init; }
        public BtfSpec? Btf { get; init; }
        /// <summary>Function name per first xlated instruction.</summary>
        public SortedDictionary<int, string> Functions { get; } = [];
        /// <summary>C prototype per first xlated instruction, as bpftool prints it (when BTF has the function).</summary>
        public Dictionary<int, string> Prototypes { get; } = [];
        /// <summary>Source line per xlated instruction index (index of <see cref="ProgramCode.LineInfos"/>).</summary>
        public Dictionary<int, int> LineAt { get; } = [];

        public (string Text, string File, uint Line, uint Column) Source(int lineIndex)
        {
            var l = Code.LineInfos[lineIndex];
            return (Btf!.GetString(l.LineOffset).Trim(), Btf.GetString(l.FileNameOffset), l.LineColumn >> 10, l.LineColumn & 0x3ff);
        }
    }

    private static Context Read(uint id)
    {
        using var p = Open(id);
        var info = p.GetInfo();
        var code = p.GetCode();
        BtfSpec? btf = null;
        if (code.BtfId != 0 && (code.FuncInfos.Length > 0 || code.LineInfos.Length > 0))
        {
            using var h = BtfHandle.FromId(code.BtfId);
            btf = h.ReadSpec();
        }
        var ctx = new Context { Info = info, Code = code, Btf = btf };
        foreach (var f in code.FuncInfos)
        {
            BtfType? t = null;
            string name = btf is not null && btf.TryTypeById(f.TypeId, out t) && t.Name.Length > 0 ? t.Name : $"F{f.InstructionOffset}";
            ctx.Functions[(int)f.InstructionOffset] = name;
            if (t is BtfFunc func && Prototype(func) is { } proto) ctx.Prototypes[(int)f.InstructionOffset] = proto;
        }
        if (ctx.Functions.Count == 0 && code.Xlated.Length > 0) ctx.Functions[0] = info.Name.Length > 0 ? info.Name : $"prog{info.Id}";
        if (btf is not null)
            for (int i = 0; i < code.LineInfos.Length; i++)
                if (btf.IsValidStringOffset(code.LineInfos[i].LineOffset) && btf.IsValidStringOffset(code.LineInfos[i].FileNameOffset))
                    ctx.LineAt.TryAdd((int)code.LineInfos[i].InstructionOffset, i);
        return ctx;
    }

    /// <summary>"int name(struct xdp_md * ctx)": bpftool's rendering of a BTF function (btf_dump_func), or null
    /// when a type is not one this simple printer knows (function pointers and arrays in parameters).</summary>
    internal static string? Prototype(BtfFunc func)
    {
        if (func.Proto is not BtfFuncProto proto) return null;
        var parts = new List<string>();
        foreach (var p in proto.Parameters)
        {
            if (p.TypeId == 0 && p.Name.Length == 0)
            {
                parts.Add("...");
                continue;
            }
            if (TypeName(func.Owner, p.TypeId, 0) is not { } type) return null;
            parts.Add(p.Name.Length == 0 ? type : $"{type} {p.Name}");
        }
        if (TypeName(func.Owner, proto.ReturnTypeId, 0) is not { } ret) return null;
        return $"{ret} {func.Name}({(parts.Count == 0 ? "void" : string.Join(", ", parts))})";
    }

    private static string? TypeName(BtfSpec btf, uint id, int depth)
    {
        if (depth > 32 || !btf.TryTypeById(id, out var t)) return null;
        return t switch
        {
            BtfVoid => "void",
            BtfInt or BtfFloat or BtfTypedef => t.Name,
            BtfStruct => $"struct {t.Name}",
            BtfUnion => $"union {t.Name}",
            BtfEnum => $"enum {t.Name}",
            BtfFwd f => $"{(f.IsUnion ? "union" : "struct")} {t.Name}",
            BtfPointer p => TypeName(btf, p.TypeId, depth + 1) is { } inner ? inner + " *" : null,
            BtfConst c => TypeName(btf, c.TypeId, depth + 1) is { } inner ? "const " + inner : null,
            BtfVolatile v => TypeName(btf, v.TypeId, depth + 1) is { } inner ? "volatile " + inner : null,
            BtfRestrict r => TypeName(btf, r.TypeId, depth + 1) is { } inner ? inner + " restrict" : null,
            BtfTypeTag tt => TypeName(btf, tt.TypeId, depth + 1),
            _ => null,
        };
    }

    private static BpfProgram Open(uint id)
    {
        try
        {
            return BpfProgram.FromId(id);
        }
        catch (BpfException e) when (e.Errno == Interop.Errno.ENOENT)
        {
            throw new InvalidOperationException($"no program with id {id}", e);
        }
    }

    // ---- xlated ----

    private static int Xlated(uint id, bool json)
    {
        var ctx = Read(id);
        var insns = ctx.Code.Xlated;
        if (insns.Length == 0) throw new InvalidOperationException($"program {id} has no translated instructions to show");
        var symbols = NeedsKallsyms(insns) ? KernelSymbols.Load() : null;
        var mapNames = new Dictionary<uint, string?>();
        using var stream = json ? new MemoryStream() : null;
        using var w = json ? new Utf8JsonWriter(stream!, new JsonWriterOptions { Indented = true }) : null;
        w?.WriteStartArray();
        for (int i = 0; i < insns.Length;)
        {
            string text = Disassembler.FormatInstruction(insns, i, DisassemblySyntax.Verifier, out int slots);
            var insn = insns[i];
            text = CallText(insn, i, text, ctx, symbols);
            uint? mapId = insn.IsLoadImm64 && insn.Src is PseudoSource.MapFd or PseudoSource.MapValue ? (uint)insn.Imm : null;
            string? mapName = mapId is uint m ? MapName(m, mapNames) : null;
            ctx.Functions.TryGetValue(i, out string? function);
            (string Text, string File, uint Line, uint Column)? src = ctx.LineAt.TryGetValue(i, out int li) ? ctx.Source(li) : null;
            if (w is not null)
            {
                w.WriteStartObject();
                w.WriteNumber("pc", i);
                if (function is not null)
                {
                    w.WriteString("function", function);
                    if (ctx.Prototypes.TryGetValue(i, out string? proto)) w.WriteString("proto", proto);
                }
                if (src is { } s)
                {
                    w.WriteString("src", s.Text);
                    w.WriteString("file", s.File);
                    w.WriteNumber("line_num", s.Line);
                    w.WriteNumber("line_col", s.Column);
                }
                w.WriteString("disasm", text);
                if (mapId is uint mid)
                {
                    w.WriteNumber("map_id", mid);
                    if (mapName is not null) w.WriteString("map_name", mapName);
                }
                w.WriteEndObject();
            }
            else
            {
                if (function is not null)
                    Output.Writer.WriteLine($"{(i == 0 ? "" : "\n")}{(ctx.Prototypes.TryGetValue(i, out string? proto) ? proto : function)}:");
                if (src is { } s) Output.Writer.WriteLine($"; {s.Text} [{Path.GetFileName(s.File)}:{s.Line}]");
                Output.Writer.WriteLine(mapName is null ? $"{i,4}: {text}" : $"{i,4}: {text}  ; map '{mapName}'");
            }
            i += slots;
        }
        if (w is not null)
        {
            w.WriteEndArray();
            w.Flush();
            Output.Writer.WriteLine(System.Text.Encoding.UTF8.GetString(stream!.ToArray()));
        }
        return 0;
    }

    private static bool NeedsKallsyms(Instruction[] insns)
    {
        foreach (var i in insns)
            if (i.OpCode == 0x85 && i.Src is 0 or PseudoSource.Call) return true;
        return false;
    }

    /// <summary>Helper calls in xlated code hold the helper's address relative to <c>__bpf_call_base</c>; like bpftool
    /// we name the kernel symbol there (the verifier may have inlined or specialised the helper, e.g.
    /// <c>__htab_map_lookup_elem</c>). bpf-to-bpf calls get the callee's function name.</summary>
    private static string CallText(Instruction insn, int index, string text, Context ctx, KernelSymbols? symbols)
    {
        if (insn.OpCode != 0x85) return text;
        if (insn.Src == PseudoSource.Call)
        {
            // After JIT the kernel keeps the relative target in off and puts the callee's function index in imm;
            // bpftool prints pc+off and names the callee by its JITed symbol (bpf_prog_<tag>_<name>).
            var ksyms = ctx.Code.JitedFunctionAddresses;
            if (ksyms.Length == 0) return text;
            string call = string.Create(Inv, $"(85) call pc{(insn.Offset >= 0 ? "+" : "")}{insn.Offset}");
            if ((uint)insn.Imm < (uint)ksyms.Length && symbols is not null && symbols.TryName(ksyms[insn.Imm], out string? sym))
                return $"{call}#{sym}";
            return (uint)insn.Imm < (uint)ctx.Functions.Count ? $"{call}#{ctx.Functions.Values.ElementAt(insn.Imm)}" : call;
        }
        if (insn.Src != 0 || symbols is null) return text;
        if (symbols.TryName(symbols.CallBase + (ulong)(long)insn.Imm, out string? name))
            return string.Create(Inv, $"(85) call {name}#{insn.Imm}");
        return text;
    }

    private static string? MapName(uint id, Dictionary<uint, string?> cache)
    {
        if (cache.TryGetValue(id, out string? name)) return name;
        try
        {
            using var m = BpfMap.FromId(id);
            name = m.Name;
        }
        catch (BpfException)
        {
            name = null; // freed meanwhile: the id alone still identifies it
        }
        cache[id] = name;
        return name;
    }

    // ---- jited ----

    private static int Jited(uint id, bool json)
    {
        var ctx = Read(id);
        var code = ctx.Code;
        if (code.Jited.Length == 0)
            throw new InvalidOperationException($"program {id} is not JIT-compiled (or the kernel hides its image: net.core.bpf_jit_harden/kptr_restrict)");
        // One entry per JITed function; func_info names them in the same order.
        var lengths = code.JitedFunctionLengths.Length > 0 ? code.JitedFunctionLengths : [(uint)code.Jited.Length];
        var names = ctx.Functions.Values.ToArray();
        var protos = ctx.Functions.Keys.Select(k => ctx.Prototypes.GetValueOrDefault(k)).ToArray();
        var resolver = new SymbolResolver(KernelSymbols.Load());
        var formatter = new GasFormatter(resolver);
        formatter.Options.FirstOperandCharIndex = 7;
        formatter.Options.UppercaseHex = false;
        var output = new StringOutput();

        using var stream = json ? new MemoryStream() : null;
        using var w = json ? new Utf8JsonWriter(stream!, new JsonWriterOptions { Indented = true }) : null;
        w?.WriteStartArray();
        int start = 0;
        for (int f = 0; f < lengths.Length; f++)
        {
            int length = (int)lengths[f];
            if (start + length > code.Jited.Length)
                throw new InvalidOperationException($"program {id}: function {f} ends at byte {start + length}, past the {code.Jited.Length}-byte image");
            string name = f < names.Length && names.Length == lengths.Length ? names[f] : f == 0 ? ctx.Info.Name : $"F{f}";
            ulong address = f < code.JitedFunctionAddresses.Length ? code.JitedFunctionAddresses[f] : 0;
            var lines = JitedLines(ctx, address, length);
            resolver.Function = (address, (ulong)length);
            if (w is not null)
            {
                w.WriteStartObject();
                w.WriteString("name", name);
                if (f < protos.Length && names.Length == lengths.Length && protos[f] is { } proto) w.WriteString("proto", proto);
                w.WriteString("address", $"0x{address:x}");
                w.WriteStartArray("insns");
            }
            else
            {
                if (f > 0) Output.Writer.WriteLine();
                string title = f < protos.Length && names.Length == lengths.Length && protos[f] is { } proto ? proto : name;
                Output.Writer.WriteLine(address == 0 ? $"{title}:" : $"{title} @ 0x{address:x}:");
            }
            var bytes = code.Jited.AsMemory(start, length);
            var decoder = Decoder.Create(64, new ByteArrayCodeReader(code.Jited, start, length), address);
            while (decoder.IP < address + (ulong)length)
            {
                int offset = (int)(decoder.IP - address);
                decoder.Decode(out var instr);
                formatter.Format(instr, output);
                string text = output.ToStringAndReset();
                if (instr.IsInvalid) text = "(bad)";
                var raw = bytes.Span.Slice(offset, Math.Min(instr.Length, length - offset));
                lines.TryGetValue(offset, out int li);
                bool hasLine = lines.ContainsKey(offset);
                if (w is not null)
                {
                    w.WriteStartObject();
                    w.WriteString("pc", $"0x{offset:x}");
                    if (hasLine)
                    {
                        var s = ctx.Source(li);
                        w.WriteString("src", s.Text);
                        w.WriteString("file", s.File);
                        w.WriteNumber("line_num", s.Line);
                    }
                    w.WriteString("operation", text.Split(' ', 2)[0]);
                    w.WriteString("disasm", text);
                    Common.WriteHexArray(w, "opcodes", raw);
                    w.WriteEndObject();
                }
                else
                {
                    if (hasLine)
                    {
                        var s = ctx.Source(li);
                        Output.Writer.WriteLine($"; {s.Text} [{Path.GetFileName(s.File)}:{s.Line}]");
                    }
                    Output.Writer.WriteLine($"{offset,5:x}:\t{Common.Hex(raw),-30}\t{text}");
                }
                if (instr.IsInvalid) break;
            }
            if (w is not null)
            {
                w.WriteEndArray();
                w.WriteEndObject();
            }
            start += length;
        }
        if (w is not null)
        {
            w.WriteEndArray();
            w.Flush();
            Output.Writer.WriteLine(System.Text.Encoding.UTF8.GetString(stream!.ToArray()));
        }
        return 0;
    }

    /// <summary>Line index per byte offset of one function: jited_line_info gives the first JITed address of each
    /// line record (only when kernel addresses are visible).</summary>
    private static Dictionary<int, int> JitedLines(Context ctx, ulong address, int length)
    {
        var result = new Dictionary<int, int>();
        var code = ctx.Code;
        if (ctx.Btf is null || address == 0 || code.JitedLineAddresses.Length != code.LineInfos.Length) return result;
        for (int i = 0; i < code.JitedLineAddresses.Length; i++)
        {
            ulong a = code.JitedLineAddresses[i];
            if (a < address || a >= address + (ulong)length) continue;
            if (!ctx.LineAt.ContainsValue(i)) continue;
            result.TryAdd((int)(a - address), i);
        }
        return result;
    }

    /// <summary>Branch targets inside the function as offsets from its start (like the listing's left column),
    /// elsewhere as kernel symbols (<c>__x86_return_thunk</c>, helpers).</summary>
    private sealed class SymbolResolver(KernelSymbols? symbols) : ISymbolResolver
    {
        public (ulong Start, ulong Length) Function { get; set; }

        public bool TryGetSymbol(in Iced.Intel.Instruction instruction, int operand, int instructionOperand, ulong address, int addressSize, out SymbolResult symbol)
        {
            if (Function.Start != 0 && address >= Function.Start && address <= Function.Start + Function.Length)
            {
                symbol = new SymbolResult(address, string.Create(Inv, $"0x{address - Function.Start:x}"));
                return true;
            }
            if (symbols is not null && symbols.TryName(address, out string? name))
            {
                symbol = new SymbolResult(address, name);
                return true;
            }
            symbol = default;
            return false;
        }
    }

    /// <summary>Iced code reader over part of a byte array.</summary>
    private sealed class ByteArrayCodeReader(byte[] data, int start, int length) : CodeReader
    {
        private int _pos = start;
        private readonly int _end = start + length;

        public override int ReadByte() => _pos < _end ? data[_pos++] : -1;
    }
}

/// <summary>Exact-address lookup in /proc/kallsyms (text symbols only), for naming helper calls.</summary>
internal sealed class KernelSymbols
{
    private readonly Dictionary<ulong, string> _byAddress;

    private KernelSymbols(Dictionary<ulong, string> byAddress, ulong callBase)
    {
        _byAddress = byAddress;
        CallBase = callBase;
    }

    /// <summary>Address of <c>__bpf_call_base</c>.</summary>
    public ulong CallBase { get; }

    /// <summary>Reads /proc/kallsyms; null when addresses are hidden (kptr_restrict) or the base is missing.</summary>
    public static KernelSymbols? Load()
    {
        var map = new Dictionary<ulong, string>();
        ulong callBase = 0;
        try
        {
            foreach (var line in File.ReadLines("/proc/kallsyms"))
            {
                // "ffffffff814dccd0 T __bpf_call_base" (+ " [module]")
                int s1 = line.IndexOf(' ');
                if (s1 <= 0 || s1 + 3 >= line.Length) continue;
                char kind = line[s1 + 1];
                if (kind is not ('T' or 't' or 'W' or 'w')) continue;
                if (!ulong.TryParse(line.AsSpan(0, s1), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong addr) || addr == 0) continue;
                int s3 = line.IndexOfAny([' ', '\t'], s1 + 3);
                string name = s3 < 0 ? line[(s1 + 3)..] : line[(s1 + 3)..s3];
                if (name.StartsWith("__pfx_", StringComparison.Ordinal)) continue;
                map.TryAdd(addr, name);
                if (name == "__bpf_call_base") callBase = addr;
            }
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
        return callBase == 0 ? null : new KernelSymbols(map, callBase);
    }

    public bool TryName(ulong address, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? name) =>
        _byAddress.TryGetValue(address, out name);
}
