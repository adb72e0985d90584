using System.Text.Json;
using SharpBpf.Asm;
using SharpBpf.Programs;
using SharpBpf.TestUtilities;

namespace SharpBpf.Cli.Tests;

[Collection(KernelCollection.Name)]
public class TestRunCommandTests
{
    [Fact]
    public void RunsAnXdpProgramByIdAndByPinOnAFilePacket()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        // r0 = *(u32 *)(r1 + 4) (data_end) - *(u32 *)(r1 + 0) (data): the packet length as the return value
        using var prog = BpfProgram.Load(new ProgramSpec
        {
            Name = "cli_testrun",
            Type = ProgramType.Xdp,
            License = "GPL",
            Instructions = Assembler.Assemble("ldxw %r0, [%r1+4]\nldxw %r2, [%r1]\nsub %r0, %r2\nexit"),
        });
        string dir = Path.Combine(Path.GetTempPath(), "sharpbpf-testrun-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        string pin = Path.Combine("/sys/fs/bpf", "sharpbpf-testrun-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            string packet = Path.Combine(dir, "packet.bin");
            File.WriteAllBytes(packet, Enumerable.Range(0, 60).Select(i => (byte)i).ToArray());
            var r = CliRunner.Run("test-run", prog.Id.ToString(), "--data", packet, "--repeat", "10", "--json");
            Assert.Equal(0, r.ExitCode);
            using (var doc = JsonDocument.Parse(r.Stdout))
            {
                Assert.Equal(60u, doc.RootElement.GetProperty("retval").GetUInt32());
                Assert.Equal(60, doc.RootElement.GetProperty("data_size_out").GetInt32());
                Assert.Equal(60, doc.RootElement.GetProperty("data_out").GetArrayLength());
            }
            prog.Pin(pin);
            string outFile = Path.Combine(dir, "out.bin");
            var text = CliRunner.Run("test-run", pin, "--data", packet, "--data-out", outFile);
            Assert.Equal(0, text.ExitCode);
            Assert.StartsWith("Return value: 60,", text.Stdout);
            Assert.Equal(File.ReadAllBytes(packet), File.ReadAllBytes(outFile));
        }
        finally
        {
            File.Delete(pin);
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void BadInputIsAOneLineError()
    {
        var noInput = CliRunner.Run("test-run", "1");
        Assert.Equal(2, noInput.ExitCode);
        Assert.Contains("--data", noInput.Stderr);
        var missing = CliRunner.Run("test-run", "/nonexistent/prog", "--data", "/etc/hostname");
        Assert.Equal(2, missing.ExitCode);
        Assert.Equal("sharpbpf: error: '/nonexistent/prog' is neither a program id nor a pinned program", missing.Stderr.Trim());
    }
}
