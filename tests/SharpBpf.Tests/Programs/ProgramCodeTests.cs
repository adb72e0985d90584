using SharpBpf.Programs;
using SharpBpf.Tests.Elf;
using SharpBpf.TestUtilities;
using static SharpBpf.Tests.Programs.Insn;

namespace SharpBpf.Tests.Programs;

/// <summary><see cref="BpfProgram.GetCode"/>: what the kernel hands back matches what was loaded and what
/// <see cref="BpfProgram.GetInfo"/> reports.</summary>
[Collection(KernelCollection.Name)]
public class ProgramCodeTests
{
    [Fact]
    public void XlatedAndJitedCodeOfASingleFunctionProgram()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        var insns = new[] { Mov64Imm(R0, 0), Add64Imm(R0, 7), Add64Imm(R0, 5), Exit() };
        using var prog = BpfProgram.Load(new ProgramSpec { Name = "sb_code", Type = ProgramType.SocketFilter, License = "GPL", Instructions = insns });
        var info = prog.GetInfo();
        var code = prog.GetCode();
        Assert.Equal((int)info.XlatedSize / 8, code.Xlated.Length);
        Assert.Equal(insns, code.Xlated); // nothing for the kernel to rewrite in this program
        Assert.Equal((int)info.JitedSize, code.Jited.Length);
        Assert.Equal([info.JitedSize], code.JitedFunctionLengths);
        Assert.Single(code.JitedFunctionAddresses);
        Assert.NotEqual(0ul, code.JitedFunctionAddresses[0]); // root sees kernel addresses
        Assert.Empty(code.FuncInfos);
        Assert.Empty(code.LineInfos);
        Assert.Equal(0u, code.BtfId);
        Assert.Contains((byte)0x55, code.Jited); // push %rbp in the x86-64 prologue
    }

    [Fact]
    public void DisposedProgramThrows()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        var prog = BpfProgram.Load(new ProgramSpec { Name = "sb_code2", Type = ProgramType.SocketFilter, License = "GPL", Instructions = [Mov64Imm(R0, 0), Exit()] });
        prog.Dispose();
        Assert.Throws<ObjectDisposedException>(() => prog.GetCode());
    }

    [Fact]
    public void FullNameComesFromBtfWhenTheKernelCutItTo15Characters()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var c = BpfCollection.LoadFile(TestData.PathOf("tc_classifier.bpf.o"));
        var prog = c.Programs["classifier_legacy"];
        Assert.Equal("classifier_lega", prog.GetInfo().Name); // BPF_OBJ_NAME_LEN - 1 characters
        Assert.Equal("classifier_legacy", prog.GetFullName());
        // without BTF there is nothing longer to find
        using var plain = BpfProgram.Load(new ProgramSpec { Name = "sb_fifteen_char", Type = ProgramType.SocketFilter, License = "GPL", Instructions = [Mov64Imm(R0, 0), Exit()] });
        Assert.Equal("sb_fifteen_char", plain.GetFullName());
    }
}
