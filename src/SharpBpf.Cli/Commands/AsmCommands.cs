using System.CommandLine;
using System.Globalization;
using System.Text;
using SharpBpf.Asm;
using SharpBpf.Asm.Conformance;
using SharpBpf.Btf;
using SharpBpf.Elf;
using SharpBpf.Programs;

namespace SharpBpf.Cli.Commands;

/// <summary><c>sharpbpf asm FILE</c> and <c>sharpbpf disasm [INPUT]</c>.</summary>
internal static class AsmCommands
{
    public static Command BuildAsm()
    {
        var file = new Argument<string>("file") { Description = "Assembly source (conformance syntax), a bpf_conformance .data file (its '-- asm' section), or - for stdin" };
        var output = new Option<string?>("--output", "-o") { Description = "Write an ELF BPF object instead of printing hex" };
        var section = new Option<string>("--section") { Description = "Object: section of the program (.text, xdp, socket, ...)", DefaultValueFactory = _ => ".text" };
        var name = new Option<string>("--name") { Description = "Object: program symbol name", DefaultValueFactory = _ => "prog" };
        var license = new Option<string>("--license") { Description = "Object: license string", DefaultValueFactory = _ => "GPL" };
        var cmd = new Command("asm", "Assemble eBPF text into bytecode (hex, one instruction per line) or an object") { file, output, section, name, license };
        cmd.SetAction(p => Asm(p.GetRequiredValue(file), p.GetValue(output), p.GetValue(section)!, p.GetValue(name)!, p.GetValue(license)!));
        return cmd;
    }

    public static Command BuildDisasm()
    {
        var input = new Argument<string?>("input") { Description = "Bytecode file: hex text (\"b7 00 ...\" or 0x-prefixed 64-bit words), raw binary, or - for stdin", Arity = ArgumentArity.ZeroOrOne };
        var hex = new Option<string?>("--hex") { Description = "Bytecode as hex text on the command line" };
        var syntax = new Option<string>("--syntax") { Description = "Output syntax", DefaultValueFactory = _ => "conformance" };
        syntax.AcceptOnlyFromAmong("conformance", "verifier");
        var labels = new Option<bool>("--labels") { Description = "Conformance syntax: name jump and call targets with labels" };
        var prog = new Option<string?>("--prog") { Description = "ELF object input: only this program (default: all)" };
        var cmd = new Command("disasm", "Disassemble eBPF bytecode, or the programs of a clang-built object (annotated with source lines)")
        {
            input, hex, syntax, labels, prog,
        };
        cmd.SetAction(p => Disasm(p.GetValue(input), p.GetValue(hex), p.GetValue(syntax)!, p.GetValue(labels), p.GetValue(prog)));
        return cmd;
    }

    private static int Asm(string file, string? output, string section, string name, string license)
    {
        string text = ReadText(file);
        Instruction[] code;
        try
        {
            code = text.Contains("\n-- asm", StringComparison.Ordinal) || text.StartsWith("-- asm", StringComparison.Ordinal)
                ? ConformanceTest.Parse(text, Path.GetFileNameWithoutExtension(file)).Assemble()
                : Assembler.Assemble(text);
        }
        catch (AssemblerException e)
        {
            throw new InvalidOperationException($"{file}: {e.Message}", e);
        }
        catch (FormatException e)
        {
            throw new InvalidOperationException(e.Message, e);
        }
        if (output is not null)
        {
            if (code.Length == 0) throw new InvalidOperationException($"{file}: no instructions");
            ObjectWriter.Write(output, code, section, name, license);
            Output.Writer.WriteLine($"wrote {output}: {code.Length} instructions in section {section}");
            return 0;
        }
        Span<byte> bytes = stackalloc byte[Instruction.Size];
        foreach (var insn in code)
        {
            insn.Encode(bytes);
            Output.Writer.WriteLine(Common.Hex(bytes));
        }
        return 0;
    }

    private static int Disasm(string? input, string? hex, string syntaxName, bool labels, string? programName)
    {
        if ((input is null) == (hex is null)) throw new UsageException("give either an input file (or -) or --hex TEXT");
        var syntax = syntaxName == "verifier" ? DisassemblySyntax.Verifier : DisassemblySyntax.Conformance;
        byte[] bytes;
        if (hex is not null) bytes = ParseHex(hex, "--hex");
        else
        {
            byte[] raw = input == "-" ? ReadAllStdin() : File.ReadAllBytes(input!);
            if (raw.Length >= 4 && raw[0] == 0x7f && raw[1] == 'E' && raw[2] == 'L' && raw[3] == 'F')
                return DisasmObject(raw, input!, syntax, programName);
            bytes = LooksLikeHexText(raw) ? ParseHex(Encoding.ASCII.GetString(raw), input!) : raw;
        }
        if (programName is not null) throw new UsageException("--prog applies to ELF object input only");
        if (bytes.Length % Instruction.Size != 0)
            throw new InvalidOperationException($"bytecode is {bytes.Length} bytes, not a multiple of {Instruction.Size}");
        var code = Instruction.DecodeAll(bytes);
        Output.Writer.Write(Disassembler.Disassemble(code, syntax, labels));
        return 0;
    }

    /// <summary>Every program of an object (subprograms linked in, as they would load), each instruction preceded by
    /// the source line its line_info names, like <c>bpftool prog dump xlated</c> with BTF.</summary>
    private static int DisasmObject(byte[] raw, string path, DisassemblySyntax syntax, string? programName)
    {
        var spec = ElfReader.Read(raw, ElfReader.ObjectNameFromPath(path));
        var programs = spec.Programs.Values.Where(p => programName is null || p.Name == programName).ToList();
        if (programs.Count == 0)
            throw new InvalidOperationException(programName is null
                ? $"{path}: no programs (functions in .text are subprograms; a program needs a SEC() section such as xdp or socket)"
                : $"{path}: no program '{programName}' (programs: {string.Join(", ", spec.Programs.Keys)})");
        bool first = true;
        foreach (var p in programs)
        {
            if (!first) Output.Writer.WriteLine();
            first = false;
            Output.Writer.WriteLine($"{p.Name}: section {p.SectionName}, {ProgCommands.TypeName(p.Type)}, {p.Instructions.Length} instructions");
            var lines = SourceLines(spec, p);
            var code = p.Instructions;
            for (int i = 0; i < code.Length;)
            {
                if (lines.TryGetValue(i, out string? source)) Output.Writer.WriteLine($"; {source}");
                string text = Disassembler.FormatInstruction(code, i, syntax, out int slots);
                Output.Writer.WriteLine($"{i,4}: {text}");
                i += slots;
            }
        }
        return 0;
    }

    /// <summary>Source text per instruction index from the object's line_info ("text [file:line]"); empty
    /// without BTF.</summary>
    private static Dictionary<int, string> SourceLines(CollectionSpec spec, ProgramSpec program)
    {
        var result = new Dictionary<int, string>();
        if (spec.Btf is null || spec.BtfExt is null || program.Functions.Count == 0) return result;
        var placements = program.Functions.Select(f => new BtfFunctionPlacement(f.SectionName, f.SectionOffset, f.Start, f.Length)).ToArray();
        if (!placements.All(f => spec.BtfExt.Sections.ContainsKey(f.SectionName))) return result;
        foreach (var line in spec.BtfExt.ForProgram(placements).LineInfos)
        {
            // line_col: line number in the upper 22 bits, column in the lower 10; clang emits line 0 for code
            // that has no source line.
            string text = spec.Btf.GetString(line.LineOffset).Trim();
            uint number = line.LineColumn >> 10;
            if (text.Length == 0 && number == 0) continue;
            result[(int)line.InstructionOffset] = $"{text} [{Path.GetFileName(spec.Btf.GetString(line.FileNameOffset))}:{number}]";
        }
        return result;
    }

    internal static string ReadText(string file) => file == "-" ? Console.In.ReadToEnd() : File.ReadAllText(file);

    private static byte[] ReadAllStdin()
    {
        using var ms = new MemoryStream();
        using var stdin = Console.OpenStandardInput();
        stdin.CopyTo(ms);
        return ms.ToArray();
    }

    private static bool LooksLikeHexText(byte[] raw) =>
        raw.Length > 0 && raw.All(b => b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n' or (byte)'x' or (byte)'X'
            || char.IsAsciiHexDigit((char)b));

    /// <summary>Hex bytecode: space-separated bytes ("b7 00 ..."), or 0x-prefixed 64-bit words one per line (as in
    /// a conformance file's <c>-- raw</c> section).</summary>
    internal static byte[] ParseHex(string text, string what)
    {
        var tokens = text.Split((char[])[' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries);
        if (tokens.Length > 0 && tokens.All(t => t.StartsWith("0x", StringComparison.OrdinalIgnoreCase) && t.Length > 4))
        {
            var bytes = new byte[tokens.Length * 8];
            for (int i = 0; i < tokens.Length; i++)
            {
                if (!ulong.TryParse(tokens[i].AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong w))
                    throw new InvalidOperationException($"{what}: word {i + 1} '{tokens[i]}' is not a 64-bit hex number");
                System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(i * 8), w);
            }
            return bytes;
        }
        try
        {
            return ConformanceTest.ParseHexBytes(text, what);
        }
        catch (FormatException e)
        {
            throw new InvalidOperationException(e.Message, e);
        }
    }
}
