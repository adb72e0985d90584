using System.Text;
using SharpBpf.Asm;
using SharpBpf.Btf;
using SharpBpf.Interop;
using SharpBpf.Maps;
using SharpBpf.Programs;
using SharpBpf.Tests.Btf;
using static SharpBpf.Tests.Programs.Insn;

namespace SharpBpf.Tests.Events;

/// <summary>
/// Programs with a callback subprogram (bpf_user_ringbuf_drain), which the verifier accepts only with BTF
/// func_info: ProgramSpec does not carry func_info yet, so this test helper loads BTF and the program itself.
/// </summary>
internal static unsafe class CallbackPrograms
{
    private const int RingbufOutput = 130, DynptrRead = 201, UserRingbufDrain = 209;

    /// <summary>
    /// raw_tp: drains <paramref name="userRing"/>; the callback copies each sample's first 8 bytes into
    /// <paramref name="echo"/> (a ring buffer). Returns (r0) the number of samples drained.
    /// </summary>
    public static BpfProgram LoadUserRingbufEcho(BpfMap userRing, BpfMap echo)
    {
        var main = Program(
            LdMapFd(R1, userRing.Fd),
            new Instruction[] { new(0x18, R2, 4, 0, 0), new(0, 0, 0, 0, 0) }, // r2 = &callback (BPF_PSEUDO_FUNC, patched)
            Mov64Imm(R3, 0),
            Mov64Imm(R4, 0),
            Call(UserRingbufDrain),
            Exit());
        var callback = Program(
            Mov64Reg(R3, R1),            // the sample's dynptr
            Mov64Reg(R1, R10),
            Add64Imm(R1, -8),
            Mov64Imm(R2, 8),
            Mov64Imm(R4, 0),
            Mov64Imm(R5, 0),
            Call(DynptrRead),            // bpf_dynptr_read(fp-8, 8, dynptr, 0, 0)
            JneImm(R0, 0, 7),
            LdMapFd(R1, echo.Fd),
            Mov64Reg(R2, R10),
            Add64Imm(R2, -8),
            Mov64Imm(R3, 8),
            Mov64Imm(R4, 0),
            Call(RingbufOutput),
            Mov64Imm(R0, 0),             // 0: continue draining
            Exit());
        int pseudo = 2;                  // index of the BPF_PSEUDO_FUNC load
        main[pseudo] = new Instruction(0x18, R2, 4, 0, main.Length - (pseudo + 1));
        var insns = Program(main, callback);

        var btf = new BtfBlobBuilder();
        uint tLong = btf.Add(BtfKind.Int, "long", 0, 8, false, (1u << 24) | 64);
        uint tPtr = btf.Add(BtfKind.Pointer, "", 0, 0);
        uint mainProto = btf.Add(BtfKind.FuncProto, "", 1, tLong, false, btf.Str("ctx"), tPtr);
        uint mainFunc = btf.Add(BtfKind.Func, "drain_prog", 1 /* global */, mainProto);
        uint cbProto = btf.Add(BtfKind.FuncProto, "", 2, tLong, false, btf.Str("dynptr"), tPtr, btf.Str("ctx"), tPtr);
        uint cbFunc = btf.Add(BtfKind.Func, "echo_cb", 0 /* static */, cbProto);
        byte[] blob = btf.Build();
        var log = new byte[64 * 1024];

        int btfFd;
        fixed (byte* b = blob)
        fixed (byte* l = log)
        {
            var attr = new BtfLoadAttr { btf = (ulong)b, btf_size = (uint)blob.Length, btf_log_buf = (ulong)l, btf_log_size = (uint)log.Length, btf_log_level = 1 };
            btfFd = Bpf.TryCall(BpfCmd.BPF_BTF_LOAD, ref attr);
            if (btfFd < 0) throw new BpfException("BPF_BTF_LOAD", -btfFd, Text(log));
        }
        try
        {
            uint[] funcInfo = [0, mainFunc, (uint)main.Length, cbFunc];
            byte[] license = "GPL\0"u8.ToArray();
            fixed (Instruction* i = insns)
            fixed (uint* fi = funcInfo)
            fixed (byte* lic = license)
            fixed (byte* l = log)
            {
                var attr = new ProgLoadAttr
                {
                    prog_type = (uint)ProgramType.RawTracepoint,
                    insn_cnt = (uint)insns.Length,
                    insns = (ulong)i,
                    license = (ulong)lic,
                    log_level = 1,
                    log_size = (uint)log.Length,
                    log_buf = (ulong)l,
                    prog_btf_fd = (uint)btfFd,
                    func_info_rec_size = 8,
                    func_info = (ulong)fi,
                    func_info_cnt = 2,
                };
                int fd = Bpf.TryCallRetrying(BpfCmd.BPF_PROG_LOAD, ref attr);
                if (fd < 0) throw new BpfException("BPF_PROG_LOAD", -fd, Text(log));
                try
                {
                    return BpfProgram.FromFd(fd);
                }
                finally
                {
                    Libc.close(fd);
                }
            }
        }
        finally
        {
            Libc.close(btfFd);
        }
    }

    private static string Text(byte[] log)
    {
        int n = Array.IndexOf(log, (byte)0);
        return Encoding.UTF8.GetString(log, 0, n < 0 ? log.Length : n);
    }
}
