using System.CommandLine;
using System.Globalization;
using System.Text;
using SharpBpf.Asm;
using SharpBpf.Asm.Conformance;

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
        var cmd = new Command("disasm", "Disassemble eBPF bytecode") { input, hex, syntax, labels };
        cmd.SetAction(p => Disasm(p.GetValue(input), p.GetValue(hex), p.GetValue(syntax)!, p.GetValue(labels)));
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

    private static int Disasm(string? input, string? hex, string syntaxName, bool labels)
    {
        if ((input is null) == (hex is null)) throw new UsageException("give either an input file (or -) or --hex TEXT");
        byte[] bytes;
        if (hex is not null) bytes = ParseHex(hex, "--hex");
        else
        {
            byte[] raw = input == "-" ? ReadAllStdin() : File.ReadAllBytes(input!);
            if (raw.Length >= 4 && raw[0] == 0x7f && raw[1] == 'E' && raw[2] == 'L' && raw[3] == 'F')
                throw new InvalidOperationException($"{input}: ELF object input needs the ELF loader, which is not available yet; pass hex or raw bytecode");
            bytes = LooksLikeHexText(raw) ? ParseHex(Encoding.ASCII.GetString(raw), input!) : raw;
        }
        if (bytes.Length % Instruction.Size != 0)
            throw new InvalidOperationException($"bytecode is {bytes.Length} bytes, not a multiple of {Instruction.Size}");
        var code = Instruction.DecodeAll(bytes);
        var syntax = syntaxName == "verifier" ? DisassemblySyntax.Verifier : DisassemblySyntax.Conformance;
        Output.Writer.Write(Disassembler.Disassemble(code, syntax, labels));
        return 0;
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
