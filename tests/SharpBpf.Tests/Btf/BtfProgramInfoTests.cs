using System.Buffers.Binary;
using System.Runtime.InteropServices;
using SharpBpf.Btf;
using SharpBpf.Interop;
using SharpBpf.TestUtilities;

namespace SharpBpf.Tests.Btf;

/// <summary>func_info/line_info for a program linked from its section plus appended subprograms: index translation,
/// and the kernel accepting (and echoing back) the arrays for a real clang program.</summary>
[Collection(KernelCollection.Name)]
public unsafe class BtfProgramInfoTests
{
    // ext.bpf.o: section "socket" (sock_core, 15 insns) calls "add" in ".text" (4 insns).
    private const int SocketLength = 15;

    private static readonly BtfFunctionPlacement[] SockCoreWithAdd =
    [
        new("socket", 0, 0, SocketLength),
        new(".text", 0, SocketLength, 4),
    ];

    private static (byte[] Elf, BtfSpec Btf, BtfExt Ext) Load()
    {
        var elf = TestObjects.Read("ext.bpf.o");
        var btf = BtfSpec.Parse(TestObjects.Section(elf, ".BTF")!);
        return (elf, btf, BtfExt.Parse(TestObjects.Section(elf, ".BTF.ext")!, btf));
    }

    [Fact]
    public void RecordsMoveWithTheirFunction()
    {
        var (_, btf, ext) = Load();
        var info = ext.ForProgram(SockCoreWithAdd);
        Assert.Null(info.Warning);
        Assert.Equal(new[] { (0u, "sock_core"), ((uint)SocketLength, "add") }, info.FuncInfos.Select(f => (f.InstructionOffset, btf.TypeById(f.TypeId).Name)));
        var socketLines = ext.GetSection("socket").LineInfos;
        var textLines = ext.GetSection(".text").LineInfos;
        Assert.Equal(socketLines.Count + textLines.Count, info.LineInfos.Length);
        Assert.Equal(socketLines.Select(l => (uint)l.InstructionIndex).Concat(textLines.Select(l => (uint)l.InstructionIndex + SocketLength)),
            info.LineInfos.Select(l => l.InstructionOffset));
        Assert.All(info.LineInfos.Zip(socketLines.Concat(textLines)), p =>
            Assert.Equal((p.Second.FileNameOffset, p.Second.LineOffset, p.Second.LineColumn), (p.First.FileNameOffset, p.First.LineOffset, p.First.LineColumn)));
        Assert.True(info.LineInfos.Zip(info.LineInfos.Skip(1)).All(p => p.First.InstructionOffset < p.Second.InstructionOffset));

        // placements in any order give the same result; a function without func_info drops both arrays
        var reversed = ext.ForProgram([SockCoreWithAdd[1], SockCoreWithAdd[0]]);
        Assert.Equal(info.FuncInfos, reversed.FuncInfos);
        var missing = ext.ForProgram([new("socket", 0, 0, SocketLength), new("nosuch", 0, SocketLength, 4)]);
        Assert.Empty(missing.FuncInfos);
        Assert.Empty(missing.LineInfos);
        Assert.Contains("'nosuch'", missing.Warning);
        Assert.Throws<ArgumentException>(() => ext.ForProgram([new("socket", 0, 0, SocketLength), new(".text", 0, 5, 4)]));
        Assert.Equal(8, sizeof(BpfFuncInfo));
        Assert.Equal(16, sizeof(BpfLineInfo));
    }

    /// <summary>socket + .text with the bpf-to-bpf call pointed at the appended subprogram.</summary>
    private static ulong[] LinkSockCore(byte[] elf)
    {
        var socket = TestObjects.Section(elf, "socket")!;
        var text = TestObjects.Section(elf, ".text")!;
        Assert.Equal(SocketLength * 8, socket.Length);
        var insns = MemoryMarshal.Cast<byte, ulong>(socket.Concat(text).ToArray()).ToArray();
        int calls = 0;
        for (int i = 0; i < SocketLength; i++)
        {
            if ((insns[i] & 0xff) == 0x85 && ((insns[i] >> 12) & 0xf) == 1) // call, src = BPF_PSEUDO_CALL
            {
                insns[i] = (insns[i] & 0xffff_ffff) | ((ulong)(uint)(SocketLength - (i + 1)) << 32);
                calls++;
            }
        }
        Assert.Equal(1, calls);
        return insns;
    }

    private static int TryLoad(ulong[] insns, BtfHandle btf, BpfFuncInfo[] funcs, BpfLineInfo[] lines, out string log)
    {
        var logBuf = new byte[64 * 1024];
        var license = "GPL\0"u8.ToArray();
        fixed (ulong* pi = insns)
        fixed (byte* pl = license, plog = logBuf)
        fixed (BpfFuncInfo* pf = funcs)
        fixed (BpfLineInfo* pli = lines)
        {
            var attr = new ProgLoadAttr
            {
                prog_type = 1, insn_cnt = (uint)insns.Length, insns = (ulong)pi, license = (ulong)pl,
                log_level = 1, log_size = (uint)logBuf.Length, log_buf = (ulong)plog,
                prog_btf_fd = (uint)btf.Fd,
                func_info_rec_size = BtfProgramInfo.FuncInfoRecordSize, func_info = (ulong)pf, func_info_cnt = (uint)funcs.Length,
                line_info_rec_size = BtfProgramInfo.LineInfoRecordSize, line_info = (ulong)pli, line_info_cnt = (uint)lines.Length,
            };
            int r = Bpf.TryCall(BpfCmd.BPF_PROG_LOAD, ref attr);
            int nul = Array.IndexOf(logBuf, (byte)0);
            log = System.Text.Encoding.UTF8.GetString(logBuf, 0, nul < 0 ? logBuf.Length : nul);
            return r;
        }
    }

    [Fact]
    public void KernelAcceptsTheArraysAndReportsThemBack()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        var (elf, btf, ext) = Load();
        var w = BtfWriter.From(btf);
        w.FixDatasecs(TestObjects.Sections(elf).ToDictionary(kv => kv.Key, kv => kv.Value.Size), TestObjects.VariableSymbols(elf));
        using var handle = BtfHandle.Load(w.ToArray());
        var info = ext.ForProgram(SockCoreWithAdd);
        var insns = LinkSockCore(elf);

        int fd = TryLoad(insns, handle, info.FuncInfos, info.LineInfos, out string log);
        Assert.True(fd >= 0, $"load failed ({-fd}): {log}");
        using var prog = new SafeBpfFd(fd);
        var funcsBack = new BpfFuncInfo[info.FuncInfos.Length];
        var linesBack = new BpfLineInfo[info.LineInfos.Length];
        fixed (BpfFuncInfo* pf = funcsBack)
        fixed (BpfLineInfo* pl = linesBack)
        {
            var pinfo = new BpfProgInfo
            {
                nr_func_info = (uint)funcsBack.Length, func_info_rec_size = 8, func_info = (ulong)pf,
                nr_line_info = (uint)linesBack.Length, line_info_rec_size = 16, line_info = (ulong)pl,
            };
            ObjectInfo.Get(prog, ref pinfo);
            Assert.Equal((uint)info.FuncInfos.Length, pinfo.nr_func_info);
            Assert.Equal((uint)info.LineInfos.Length, pinfo.nr_line_info);
            Assert.Equal(handle.GetInfo().Id, pinfo.btf_id);
        }
        Assert.Equal(info.FuncInfos, funcsBack);
        Assert.Equal(info.LineInfos, linesBack);

        // the same arrays without the subprogram's func_info are refused: the test can fail
        int bad = TryLoad(insns, handle, info.FuncInfos[..1], info.LineInfos, out log);
        Assert.True(bad < 0);
        if (bad >= 0) new SafeBpfFd(bad).Dispose();
        Assert.Contains("func_info", log);
    }
}
