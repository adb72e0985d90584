using System.CommandLine;
using SharpBpf.Programs;

namespace SharpBpf.Cli.Commands;

/// <summary><c>sharpbpf test-run PROG --data FILE</c>: runs a loaded program on test input in the kernel
/// (BPF_PROG_TEST_RUN), like <c>bpftool prog run</c>. PROG is a program id or a pinned path.</summary>
internal static class TestRunCommand
{
    public static Command Build()
    {
        var prog = new Argument<string>("prog") { Description = "Program id (see 'prog list') or bpffs path of a pinned program" };
        var data = new Option<FileInfo?>("--data") { Description = "Packet to run on (XDP and skb programs need at least an Ethernet header)" };
        var ctx = new Option<FileInfo?>("--ctx") { Description = "Context to run with (struct __sk_buff, struct xdp_md, raw tracepoint args ...)" };
        var dataOut = new Option<FileInfo?>("--data-out") { Description = "Write the packet as the program left it to this file" };
        var repeat = new Option<uint>("--repeat", "-r") { Description = "Run this many times; the duration is the average (default 1)", DefaultValueFactory = _ => 1 };
        var json = Common.JsonOption();
        var cmd = new Command("test-run", "Run a loaded program on test input in the kernel (BPF_PROG_TEST_RUN)\n\nExample:\n  sharpbpf test-run 42 --data packet.bin --repeat 1000")
        {
            prog, data, ctx, dataOut, repeat, json,
        };
        cmd.SetAction(p => Run(p.GetRequiredValue(prog), p.GetValue(data), p.GetValue(ctx), p.GetValue(dataOut), p.GetValue(repeat), p.GetValue(json)));
        return cmd;
    }

    /// <summary>Opens PROG: a number is an id, anything else a pinned path.</summary>
    internal static BpfProgram Open(string prog)
    {
        if (uint.TryParse(prog, out uint id))
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
        if (!File.Exists(prog)) throw new UsageException($"'{prog}' is neither a program id nor a pinned program");
        return BpfProgram.FromPinned(prog);
    }

    private static int Run(string progArg, FileInfo? data, FileInfo? ctx, FileInfo? dataOut, uint repeat, bool json)
    {
        if (data is null && ctx is null) throw new UsageException("give the input: --data FILE and/or --ctx FILE");
        byte[] input = data is null ? [] : Read(data, "--data");
        byte[] context = ctx is null ? [] : Read(ctx, "--ctx");
        using var program = Open(progArg);
        // room for programs that grow the packet (XDP/tc head and tail adjustments)
        var output = new byte[input.Length + 4096];
        var ctxOut = new byte[Math.Max(context.Length, 256)];
        var result = program.TestRun(new TestRunOptions
        {
            Data = input,
            DataOut = output,
            Context = context,
            ContextOut = context.Length > 0 ? ctxOut : default,
            Repeat = repeat,
        });
        var packet = output.AsSpan(0, Math.Min(result.DataOutLength, output.Length));
        if (dataOut is not null) File.WriteAllBytes(dataOut.FullName, packet.ToArray());
        if (json)
        {
            byte[] outBytes = packet.ToArray();
            Common.WriteJson(w =>
            {
                w.WriteStartObject();
                w.WriteNumber("id", program.Id);
                w.WriteNumber("retval", result.ReturnValue);
                w.WriteNumber("duration_ns", result.DurationNanoseconds);
                w.WriteNumber("repeat", Math.Max(repeat, 1));
                w.WriteNumber("data_size_out", result.DataOutLength);
                if (dataOut is null) Common.WriteHexArray(w, "data_out", outBytes);
                w.WriteEndObject();
            });
            return 0;
        }
        Output.Writer.WriteLine($"Return value: {result.ReturnValue}, duration{(repeat > 1 ? " (average)" : "")}: {result.DurationNanoseconds} ns");
        if (dataOut is not null) Output.Writer.WriteLine($"Wrote {packet.Length} bytes of output data to {dataOut.FullName}");
        else if (!packet.IsEmpty) Output.Writer.WriteLine($"Output data ({packet.Length} bytes): {Common.Hex(packet)}");
        return 0;
    }

    private static byte[] Read(FileInfo file, string option) =>
        file.Exists ? File.ReadAllBytes(file.FullName) : throw new UsageException($"{option}: no file '{file.FullName}'");
}
