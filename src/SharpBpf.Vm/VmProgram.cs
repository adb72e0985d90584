using System.Runtime.CompilerServices;
using SharpBpf.Asm;
using SharpBpf.Programs;

namespace SharpBpf.Vm;

/// <summary>A program loaded into a <see cref="BpfVm"/>: validated (opcodes, registers, jump and call targets,
/// helpers, map references) and decoded for the engines.</summary>
public sealed class VmProgram
{
    internal readonly DecodedInsn[] Code; // one more than the program: the sentinel that reports falling off the end
    private readonly ContextLayout? _layout;
    private Jit.JitFunction? _jitted;

    internal VmProgram(BpfVm vm, Instruction[] insns, ProgramType type, string name,
        (List<MapReference> Refs, IReadOnlyDictionary<string, VmMap>? Maps)? mapRefs, int[]? fdArray = null)
    {
        Vm = vm;
        Name = name;
        Type = type;
        Instructions = insns;
        _layout = ContextLayout.For(type);
        if (mapRefs is { } mr) ResolveMapReferences(insns, mr.Refs, mr.Maps);
        Code = Decoder.Decode(vm, insns, fdArray);
        Engine = VmEngine.Interpreter;
        if (vm.Options.Engine == VmEngine.Jit && RuntimeFeature.IsDynamicCodeSupported)
        {
            _jitted = Jit.IlCompiler.Compile(this);
            Engine = VmEngine.Jit;
        }
    }

    /// <summary>The VM the program belongs to.</summary>
    public BpfVm Vm { get; }

    /// <summary>Program name.</summary>
    public string Name { get; }

    /// <summary>Program type (decides the context of <see cref="RunPacket"/>).</summary>
    public ProgramType Type { get; }

    /// <summary>The instructions as loaded (map references resolved to VM map fds).</summary>
    public IReadOnlyList<Instruction> Instructions { get; }

    /// <summary>The engine that runs it: <see cref="VmEngine.Jit"/> only when asked for and supported.</summary>
    public VmEngine Engine { get; }

    /// <summary>Runs with r1 = the address of a copy of <paramref name="memory"/> and r2 = its length (how the
    /// conformance suite and context-as-memory program types run); returns r0. The memory after the run is
    /// <see cref="BpfVm.InputMemory"/>.</summary>
    /// <exception cref="VmException">The run stopped abnormally (memory fault, budget, ...).</exception>
    public ulong Run(ReadOnlySpan<byte> memory)
    {
        Vm.PrepareInput(memory);
        return Vm.Execute(this, (ulong)BpfVm.RegionInput << Mem.RegionShift, (ulong)memory.Length);
    }

    /// <summary>Runs a packet program (XDP, tc, socket filter, cgroup skb, lwt) on <paramref name="packet"/>, an
    /// Ethernet frame, like BPF_PROG_TEST_RUN: the context (<c>xdp_md</c> / <c>__sk_buff</c>) is built for it,
    /// <paramref name="context"/> optionally sets its writable fields. The frame after the run is
    /// <see cref="BpfVm.Packet"/>, the context <see cref="BpfVm.Context"/>. Returns r0.</summary>
    /// <exception cref="InvalidOperationException">The program type has no packet context in the VM.</exception>
    /// <exception cref="VmException">The run stopped abnormally.</exception>
    public ulong RunPacket(ReadOnlySpan<byte> packet, ReadOnlySpan<byte> context = default)
    {
        var layout = _layout ?? throw new InvalidOperationException($"{Type} programs have no packet context in the VM: use Run(memory)");
        Vm.PreparePacket(layout, packet, context);
        try
        {
            return Vm.Execute(this, (ulong)BpfVm.RegionContext << Mem.RegionShift, 0);
        }
        finally
        {
            if (!layout.L2) Vm.ClearLinkHeader(); // the kernel's test run zeroes the Ethernet header it pushes back
        }
    }

    internal ulong ExecuteOnce(ulong r1, ulong r2) =>
        _jitted is { } f ? f(Vm, r1, r2) : Interpreter.Run(Vm, this, r1, r2);

    private static void ResolveMapReferences(Instruction[] insns, List<MapReference> refs, IReadOnlyDictionary<string, VmMap>? maps)
    {
        foreach (var r in refs)
        {
            if (maps is null || !maps.TryGetValue(r.MapName, out var map))
                throw new VmProgramException(r.Instruction, $"map '{r.MapName}' is referenced but was not given to the VM");
            if ((uint)r.Instruction + 1 >= (uint)insns.Length || !insns[r.Instruction].IsLoadImm64)
                throw new VmProgramException(r.Instruction, $"the reference to map '{r.MapName}' is not on a lddw");
            var ld = insns[r.Instruction];
            if (r.Kind == MapReferenceKind.Map)
            {
                insns[r.Instruction] = new Instruction(ld.OpCode, ld.Dst, PseudoSource.MapFd, 0, map.Fd);
                insns[r.Instruction + 1] = new Instruction(0, 0, 0, 0, 0);
            }
            else
            {
                insns[r.Instruction] = new Instruction(ld.OpCode, ld.Dst, PseudoSource.MapValue, 0, map.Fd);
                insns[r.Instruction + 1] = new Instruction(0, 0, 0, 0, (int)r.Offset);
            }
        }
    }
}
