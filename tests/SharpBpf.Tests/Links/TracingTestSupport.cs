using System.Runtime.InteropServices;
using SharpBpf.Links;
using SharpBpf.Asm;
using SharpBpf.Maps;
using SharpBpf.Programs;

namespace SharpBpf.Tests.Links;

/// <summary>Tracing test programs: count calls of this process into slot 0 of an array map and store the BPF cookie
/// in slot 1.</summary>
internal static partial class TracingTestSupport
{
    public const int GetCurrentPidTgid = 14, MapLookupElem = 1, GetAttachCookie = 174;

    /// <summary>getpid(2) straight from libc (not cached like Environment.ProcessId): each call enters the kernel.</summary>
    [LibraryImport("libc")]
    public static partial int getpid();

    /// <summary>The getpid syscall number of this architecture.</summary>
    public static int GetpidNr => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 39,
        Architecture.Arm64 => 172,
        var a => throw new PlatformNotSupportedException($"getpid syscall number unknown for {a}"),
    };

    /// <summary>
    /// A program that, when the current process is this test process (and, with <paramref name="syscallArgOffset"/>,
    /// the u64 at that ctx offset is the getpid syscall number), adds 1 to counters[0] and stores
    /// bpf_get_attach_cookie(ctx) in counters[1].
    /// </summary>
    /// <param name="type">The program type.</param>
    /// <param name="name">The program name.</param>
    /// <param name="counters">The two counter slots.</param>
    /// <param name="syscallArgOffset">Where the syscall number is in ctx, to count getpid only.</param>
    /// <param name="cookie">Whether to read the cookie (false: slot 1 gets 0), for kernels whose program type cannot.</param>
    public static BpfProgram Load(ProgramType type, string name, ArrayMap<ulong> counters, short? syscallArgOffset = null, bool cookie = true) =>
        BpfProgram.Load(new ProgramSpec { Name = name, Type = type, License = "GPL", Instructions = CountingInstructions(counters, syscallArgOffset, cookie) });

    /// <summary>The instructions of <see cref="Load"/>'s program, for specs that need more (e.g. an expected attach
    /// type).</summary>
    public static Instruction[] CountingInstructions(ArrayMap<ulong> counters, short? syscallArgOffset = null, bool cookie = true)
    {
        var b = new InstructionBuilder()
            .Mov64(Register.R6, Register.R1)
            .Call(GetCurrentPidTgid)
            .Alu64(AluOp.Rsh, Register.R0, 32)
            .Jump(JumpOp.Jne, Register.R0, Environment.ProcessId, "out");
        if (syscallArgOffset is short off)
            b.Load(MemorySize.DWord, Register.R2, Register.R6, off)
             .Jump(JumpOp.Jne, Register.R2, GetpidNr, "out");
        if (cookie)
            b.Mov64(Register.R1, Register.R6)
             .Call(GetAttachCookie)
             .Mov64(Register.R7, Register.R0);
        else
            b.Mov64(Register.R7, 0);
        b.StoreImm(MemorySize.Word, Register.R10, -4, 0)
            .LoadMapFd(Register.R1, counters.Fd)
            .Mov64(Register.R2, Register.R10)
            .Add64(Register.R2, -4)
            .Call(MapLookupElem)
            .Jump(JumpOp.Jeq, Register.R0, 0, "out")
            .Mov64(Register.R1, 1)
            .Atomic(AtomicOp.Add, MemorySize.DWord, Register.R0, 0, Register.R1)
            .StoreImm(MemorySize.Word, Register.R10, -4, 1)
            .LoadMapFd(Register.R1, counters.Fd)
            .Mov64(Register.R2, Register.R10)
            .Add64(Register.R2, -4)
            .Call(MapLookupElem)
            .Jump(JumpOp.Jeq, Register.R0, 0, "out")
            .Store(MemorySize.DWord, Register.R0, 0, Register.R7)
            .Label("out")
            .Mov64(Register.R0, 0)
            .Exit();
        return b.Build();
    }

    /// <summary>Calls getpid <paramref name="count"/> times.</summary>
    public static void CallGetpid(int count)
    {
        for (int i = 0; i < count; i++) getpid();
    }

    /// <summary>Calls getpid <paramref name="calls"/> times: the attached program counts them and stores
    /// <paramref name="cookie"/>; then disposes <paramref name="link"/> and checks it is gone and counting stops.</summary>
    public static void AssertCountsUntilDisposed(BpfLink link, ArrayMap<ulong> counters, ulong cookie, int calls)
    {
        try
        {
            CallGetpid(calls);
            Assert.True(counters[0] >= (ulong)calls, $"counted {counters[0]} getpid calls, expected at least {calls}");
            Assert.Equal(cookie, counters[1]);
        }
        finally
        {
            link.Dispose();
        }
        Assert.DoesNotContain(link.Id, BpfLink.EnumerateIds());

        ulong before = counters[0];
        CallGetpid(calls);
        Assert.Equal(before, counters[0]);
    }
}
