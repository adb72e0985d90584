using System.Buffers.Binary;
using SharpBpf.Maps;
using SharpBpf.Programs;

namespace SharpBpf.Asm.Conformance;

/// <summary>
/// Runs conformance programs in the kernel: the program becomes an XDP program run through BPF_PROG_TEST_RUN. The
/// input memory lives in the value of a one-entry array map; a prologue looks it up and sets r1 = pointer to it,
/// r2 = its length. Every <c>exit</c> of the main function is rewritten to first store r0 into a one-entry result
/// map (subprogram exits stay as they are), so the full 64-bit r0 comes back. The test packet is the memory padded
/// to at least 14 bytes (an Ethernet header). Programs the verifier refuses are reported with its error line.
/// </summary>
public sealed class KernelConformanceBackend : IConformanceBackend
{
    private const int MapLookupElem = 1, XdpPass = 2;

    /// <inheritdoc/>
    public string Name => "kernel";

    /// <summary>The last program loaded (prologue and rewritten exits included), for diagnostics.</summary>
    public Instruction[]? LastLoadedProgram { get; private set; }

    /// <inheritdoc/>
    public ConformanceOutcome Run(ReadOnlySpan<Instruction> program, ReadOnlySpan<byte> memory)
    {
        using var memMap = BpfMap.Create(new MapSpec
        {
            Name = "conf_mem", Type = MapType.Array, KeySize = 4, ValueSize = (uint)Math.Max(memory.Length, 1), MaxEntries = 1,
        });
        using var resultMap = BpfMap.Create(new MapSpec { Name = "conf_r0", Type = MapType.Array, KeySize = 4, ValueSize = 8, MaxEntries = 1 });
        Span<byte> key = stackalloc byte[4];
        key.Clear();
        var value = new byte[Math.Max(memory.Length, 1)];
        memory.CopyTo(value);
        memMap.Update(key, value);

        var code = Instrument(program, memMap.Fd, memory.Length, resultMap.Fd);
        LastLoadedProgram = code;
        BpfProgram prog;
        try
        {
            prog = BpfProgram.Load(new ProgramSpec { Name = "conformance", Type = ProgramType.Xdp, License = "GPL", Instructions = code });
        }
        catch (BpfVerifierException e)
        {
            return ConformanceOutcome.Rejected(e.Message);
        }
        catch (BpfException e)
        {
            return ConformanceOutcome.Rejected(e.Message);
        }
        using (prog)
        {
            var packet = new byte[Math.Max(memory.Length, 14)];
            memory.CopyTo(packet);
            try
            {
                prog.TestRun(packet);
            }
            catch (BpfException e)
            {
                return ConformanceOutcome.Rejected($"test run failed: {e.Message}");
            }
        }
        Span<byte> r0 = stackalloc byte[8];
        resultMap.Lookup(key, r0);
        return ConformanceOutcome.Returned(BinaryPrimitives.ReadUInt64LittleEndian(r0));
    }

    /// <summary>The program as the kernel backend loads it: prologue, then the program with its main-function
    /// exits storing r0 into the result map.</summary>
    public static Instruction[] Instrument(ReadOnlySpan<Instruction> program, int memoryMapFd, int memoryLength, int resultMapFd)
    {
        int mainEnd = InstructionRewriter.MainFunctionEnd(program);
        var epilogue = new InstructionBuilder()
            .Mov64(Register.R6, Register.R0)
            .StoreImm(MemorySize.Word, Register.R10, -4, 0)
            .Mov64(Register.R2, Register.R10)
            .Add64(Register.R2, -4)
            .LoadMapFd(Register.R1, resultMapFd)
            .Call(MapLookupElem)
            .Jump(JumpOp.Jeq, Register.R0, 0, 1)
            .Store(MemorySize.DWord, Register.R0, 0, Register.R6)
            .Mov64(Register.R0, XdpPass)
            .Exit()
            .Build();
        var copy = program.ToArray();
        var body = InstructionRewriter.Rewrite(copy, i => i < mainEnd && copy[i].IsExit ? epilogue : null);
        var prologue = new InstructionBuilder()
            .StoreImm(MemorySize.Word, Register.R10, -4, 0)
            .Mov64(Register.R2, Register.R10)
            .Add64(Register.R2, -4)
            .LoadMapFd(Register.R1, memoryMapFd)
            .Call(MapLookupElem)
            .Jump(JumpOp.Jne, Register.R0, 0, 2)
            .Mov64(Register.R0, 0)
            .Exit()
            .Mov64(Register.R1, Register.R0)
            .Mov64(Register.R2, memoryLength)
            .Build();
        return [.. prologue, .. body];
    }
}
