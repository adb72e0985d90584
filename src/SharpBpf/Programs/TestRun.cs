using SharpBpf.Interop;

namespace SharpBpf.Programs;

/// <summary>Flags for <see cref="BpfProgram.TestRun(TestRunOptions)"/> (BPF_PROG_TEST_RUN <c>flags</c>).</summary>
[Flags]
public enum TestRunFlags : uint
{
    /// <summary>No flags.</summary>
    None = 0,
    /// <summary>BPF_F_TEST_RUN_ON_CPU: run on <see cref="TestRunOptions.Cpu"/> (raw tracepoint programs, Linux 5.10).</summary>
    RunOnCpu = 1,
    /// <summary>BPF_F_TEST_XDP_LIVE_FRAMES: XDP frames really go out (XDP_TX/REDIRECT act, Linux 5.18).</summary>
    XdpLiveFrames = 2,
    /// <summary>BPF_F_TEST_SKB_CHECKSUM_COMPLETE: skb programs see CHECKSUM_COMPLETE (Linux 6.6).</summary>
    SkbChecksumComplete = 4,
}

/// <summary>Input of <see cref="BpfProgram.TestRun(TestRunOptions)"/>. Spans of the caller: the run
/// allocates nothing.</summary>
public ref struct TestRunOptions
{
    /// <summary>Packet data in (XDP and skb programs need at least an Ethernet header, 14 bytes).</summary>
    public ReadOnlySpan<byte> Data { get; set; }

    /// <summary>Buffer for the packet as the program left it (optional).</summary>
    public Span<byte> DataOut { get; set; }

    /// <summary>Context in (e.g. <c>struct __sk_buff</c>, <c>struct xdp_md</c>, raw tracepoint args).</summary>
    public ReadOnlySpan<byte> Context { get; set; }

    /// <summary>Buffer for the context as the program left it (optional).</summary>
    public Span<byte> ContextOut { get; set; }

    /// <summary>Number of runs (0 or 1: once). <see cref="TestRunResult.DurationNanoseconds"/> is the average.</summary>
    public uint Repeat { get; set; }

    /// <summary>Flags.</summary>
    public TestRunFlags Flags { get; set; }

    /// <summary>CPU to run on; only with <see cref="TestRunFlags.RunOnCpu"/>.</summary>
    public uint Cpu { get; set; }

    /// <summary>XDP live frames: frames per batch (0: kernel default).</summary>
    public uint BatchSize { get; set; }
}

/// <summary>Outcome of <see cref="BpfProgram.TestRun(TestRunOptions)"/>.</summary>
/// <param name="ReturnValue">The program's return value (r0).</param>
/// <param name="DurationNanoseconds">Average run time per repetition, in nanoseconds.</param>
/// <param name="DataOutLength">Length of the output packet (may exceed the buffer: see <see cref="DataOutTruncated"/>);
/// its bytes are the first <c>min(DataOutLength, DataOut.Length)</c> of <see cref="TestRunOptions.DataOut"/>.</param>
/// <param name="ContextOutLength">Length of the output context, in <see cref="TestRunOptions.ContextOut"/>.</param>
/// <param name="DataOutTruncated">The output packet was larger than <see cref="TestRunOptions.DataOut"/>.</param>
public readonly record struct TestRunResult(uint ReturnValue, uint DurationNanoseconds, int DataOutLength, int ContextOutLength, bool DataOutTruncated)
{
    /// <summary>Average run time per repetition (100 ns resolution; see <see cref="DurationNanoseconds"/>).</summary>
    public TimeSpan Duration => TimeSpan.FromTicks(DurationNanoseconds / 100);
}

public sealed unsafe partial class BpfProgram
{
    /// <summary>Runs the program once on <paramref name="data"/> (BPF_PROG_TEST_RUN) and returns its result.</summary>
    public TestRunResult TestRun(ReadOnlySpan<byte> data) => TestRun(new TestRunOptions { Data = data });

    /// <summary>
    /// Runs the program in the kernel on test input (BPF_PROG_TEST_RUN, Linux 4.12; context in/out 5.2). Supported
    /// for XDP, skb (socket filter, tc, cgroup skb, lwt), flow dissector, raw tracepoint, syscall, struct_ops,
    /// sk_lookup and netfilter programs.
    /// </summary>
    /// <exception cref="ArgumentException"><see cref="TestRunOptions.Cpu"/> without <see cref="TestRunFlags.RunOnCpu"/>.</exception>
    /// <exception cref="BpfException">The kernel refused (e.g. ENOTSUPP for a program type without test runs,
    /// EINVAL for a too short packet).</exception>
    public TestRunResult TestRun(TestRunOptions options)
    {
        if (options.Cpu != 0 && (options.Flags & TestRunFlags.RunOnCpu) == 0)
            throw new ArgumentException($"Cpu = {options.Cpu} needs TestRunFlags.RunOnCpu", nameof(options));
        fixed (byte* dataIn = options.Data)
        fixed (byte* dataOut = options.DataOut)
        fixed (byte* ctxIn = options.Context)
        fixed (byte* ctxOut = options.ContextOut)
        {
            var attr = new TestRunAttr
            {
                prog_fd = (uint)Fd,
                data_in = (ulong)dataIn,
                data_size_in = (uint)options.Data.Length,
                data_out = (ulong)dataOut,
                data_size_out = (uint)options.DataOut.Length,
                ctx_in = (ulong)ctxIn,
                ctx_size_in = (uint)options.Context.Length,
                ctx_out = (ulong)ctxOut,
                ctx_size_out = (uint)options.ContextOut.Length,
                repeat = options.Repeat,
                flags = (uint)options.Flags,
                cpu = options.Cpu,
                batch_size = options.BatchSize,
            };
            int r = Bpf.TryCall(BpfCmd.BPF_PROG_TEST_RUN, ref attr);
            bool truncated = false;
            if (r == -Errno.ENOSPC && !options.DataOut.IsEmpty && attr.data_size_out > (uint)options.DataOut.Length)
                truncated = true; // the kernel copied what fitted and reported the full length
            else if (r < 0)
                throw new BpfException("BPF_PROG_TEST_RUN", -r, $"program '{Name}' ({Type})");
            return new TestRunResult(attr.retval, attr.duration,
                (int)attr.data_size_out,
                options.ContextOut.IsEmpty ? 0 : (int)attr.ctx_size_out, truncated);
        }
    }
}
