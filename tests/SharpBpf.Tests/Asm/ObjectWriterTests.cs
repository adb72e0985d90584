using System.Diagnostics;
using System.Text.RegularExpressions;
using SharpBpf.Asm;

namespace SharpBpf.Tests.Asm;

public partial class ObjectWriterTests
{
    private static (int Code, string Stdout, string Stderr) Run(string exe, params string[] args)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {exe}");
        string o = p.StandardOutput.ReadToEnd(), e = p.StandardError.ReadToEnd();
        Assert.True(p.WaitForExit(30_000), $"{exe} did not finish");
        return (p.ExitCode, o, e);
    }

    [GeneratedRegex(@"^\s*(\d+):\t((?:[0-9a-f]{2} )*[0-9a-f]{2})\t(.*)$")]
    private static partial Regex ObjdumpLine();

    [Fact]
    public void LlvmObjdumpDisassemblesTheObject()
    {
        const string exe = "/usr/bin/llvm-objdump-14";
        Assert.True(File.Exists(exe), "llvm-objdump-14 is missing: apt-get install -y llvm-14 (.ci/run installs it)");
        var code = Assembler.Assemble("""
            mov32 %r0, 1
            lddw %r1, 0x1122334455667788
            jeq %r1, 3, +2
            lock fetch add [%r10-8], %r1
            call 5
            exit
            """);
        string path = Path.Combine(Path.GetTempPath(), $"sharpbpf-asm-{Environment.ProcessId}.o");
        try
        {
            ObjectWriter.Write(path, code, "xdp", "my_prog", "Dual MIT/GPL");
            var (rc, stdout, stderr) = Run(exe, "-d", path);
            Assert.True(rc == 0, stderr);
            Assert.Contains("file format elf64-bpf", stdout);
            Assert.Contains("Disassembly of section xdp:", stdout);
            Assert.Contains("<my_prog>:", stdout);
            // the bytes llvm shows are ours, instruction by instruction (lddw as one 16-byte line)
            var lines = stdout.Split('\n').Select(l => ObjdumpLine().Match(l)).Where(m => m.Success).ToList();
            var bytes = lines.SelectMany(m => m.Groups[2].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Select(h => Convert.ToByte(h, 16)).ToArray();
            Assert.Equal(Instruction.Encode(code), bytes);
            Assert.Equal(["w0 = 1", "r1 = 1234605616436508552 ll", "if r1 == 3 goto +2 <my_prog+0x30>", "r1 = atomic_fetch_add((u64 *)(r10 - 8), r1)", "call 5", "exit"],
                lines.Select(m => m.Groups[3].Value.Trim()));

            var (src, symOut, symErr) = Run("/usr/bin/llvm-readelf-14", "-s", "-S", path);
            Assert.True(src == 0, symErr);
            Assert.Matches(@"FUNC\s+GLOBAL\s+DEFAULT\s+2 my_prog", symOut);
            Assert.Matches(@"OBJECT\s+GLOBAL\s+DEFAULT\s+3 _license", symOut);
            Assert.Contains("license", symOut);
            byte[] file = File.ReadAllBytes(path);
            Assert.Contains("Dual MIT/GPL\0"u8.ToArray(), Windows(file, 13));
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static IEnumerable<byte[]> Windows(byte[] data, int size)
    {
        for (int i = 0; i + size <= data.Length; i++) yield return data[i..(i + size)];
    }

    [Fact]
    public void RejectsWhatAnObjectCannotHold()
    {
        var withMap = new InstructionBuilder().LoadMapFd(Register.R1, 5).Mov64(Register.R0, 0).Exit().Build();
        var e = Assert.Throws<ArgumentException>(() => ObjectWriter.ToBytes(withMap));
        Assert.Contains("relocation", e.Message);
        Assert.Throws<ArgumentException>(() => ObjectWriter.ToBytes([]));
        Assert.Throws<ArgumentException>(() => ObjectWriter.ToBytes(withMap[2..], section: ""));
    }
}
