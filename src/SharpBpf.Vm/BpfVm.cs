using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SharpBpf.Asm;
using SharpBpf.Programs;

namespace SharpBpf.Vm;

/// <summary>A helper function as the VM calls it: the five argument registers in, r0 out. Pointers are VM addresses:
/// read and write through <see cref="BpfVm.Read"/> / <see cref="BpfVm.Write"/>.</summary>
public delegate ulong VmHelper(BpfVm vm, ulong r1, ulong r2, ulong r3, ulong r4, ulong r5);

/// <summary>
/// A userspace eBPF machine: an address space of checked regions (stack, context, packet, input memory, probe memory,
/// map values), emulated maps and helpers, and the engines (interpreter, IL JIT) that run <see cref="VmProgram"/>s.
/// One run at a time: a VM is not thread-safe. Runs allocate nothing.
/// </summary>
public sealed unsafe partial class BpfVm : IDisposable
{
    /// <summary>Deepest bpf-to-bpf call chain (the kernel's MAX_CALL_FRAMES).</summary>
    public const int MaxFrames = 8;

    /// <summary>Stack bytes per frame (MAX_BPF_STACK).</summary>
    public const int StackSizePerFrame = 512;

    /// <summary>Most tail calls per run (MAX_TAIL_CALL_CNT).</summary>
    public const int MaxTailCalls = 33;

    internal const uint RegionStack = 1, RegionContext = 2, RegionPacket = 3, RegionCode = 4, RegionInput = 5, RegionProbe = 6;
    private const uint FirstDynamicRegion = 7;
    private const int PacketHeadroom = 256, PacketTailroom = 256;

    internal Region* Regions;
    internal uint RegionCount;
    private uint _regionCapacity;
    private RegionKind[] _kinds;
    private object?[] _owners;

    internal readonly byte* Stack;
    internal readonly Frame* Frames;
    private readonly byte* _ctx;
    private ContextLayout? _ctxLayout;
    private readonly byte* _packet;
    private readonly int _packetCapacity;
    private int _frameStart, _metaStart, _dataStart, _dataEnd;
    private byte* _input;
    private int _inputCapacity, _inputLength;
    private byte* _probe;
    private int _probeLength;

    private readonly VmHelper?[] _helpers = new VmHelper?[256];
    private readonly List<VmMap> _maps = [];
    private readonly Dictionary<int, VmMap> _mapsByFd = [];
    private readonly List<string> _traceLog = [];
    private int _nextFd = 1000;
    private bool _disposed;

    // per-run state
    internal long BudgetLeft;
    internal int TailCallCount;
    internal VmProgram? PendingTailCall;
    internal ulong TailCallContext;
    internal bool ExitRequested;
    internal int Depth;
    internal VmProgram? Current;
    internal int CurrentPc;
    private ulong _clock;
    private ulong _rng;
    private bool _recordsProduced;

    [StructLayout(LayoutKind.Sequential)]
    internal struct Frame
    {
        public ulong R6, R7, R8, R9, R10;
        public long ReturnPc;
    }

    /// <summary>Creates a VM with the standard helpers registered.</summary>
    public BpfVm(VmOptions? options = null)
    {
        Options = options ?? new VmOptions();
        if (Options.CpuCount < 1) throw new ArgumentOutOfRangeException(nameof(options), Options.CpuCount, "CpuCount must be at least 1");
        if ((uint)Options.Cpu >= (uint)Options.CpuCount)
            throw new ArgumentOutOfRangeException(nameof(options), Options.Cpu, $"Cpu must be below CpuCount ({Options.CpuCount})");
        _regionCapacity = 64;
        Regions = (Region*)NativeMemory.AllocZeroed(_regionCapacity, (nuint)sizeof(Region));
        _kinds = new RegionKind[_regionCapacity];
        _owners = new object?[_regionCapacity];
        RegionCount = FirstDynamicRegion;
        Stack = (byte*)NativeMemory.AlignedAlloc(MaxFrames * StackSizePerFrame, 64);
        new Span<byte>(Stack, MaxFrames * StackSizePerFrame).Clear();
        Frames = (Frame*)NativeMemory.AllocZeroed(MaxFrames + 1, (nuint)sizeof(Frame));
        _ctx = (byte*)NativeMemory.AllocZeroed(256);
        _packetCapacity = PacketHeadroom + Options.MaxPacketSize + PacketTailroom;
        _packet = (byte*)NativeMemory.AlignedAlloc((nuint)_packetCapacity, 64);
        new Span<byte>(_packet, _packetCapacity).Clear();
        SetRegion(RegionStack, RegionKind.Stack, Stack, MaxFrames * StackSizePerFrame, writable: true, null);
        SetRegion(RegionContext, RegionKind.Context, _ctx, 0, writable: false, null);
        SetRegion(RegionPacket, RegionKind.Packet, _packet, 0, writable: true, null);
        SetRegion(RegionCode, RegionKind.Code, null, 0, writable: false, null);
        SetRegion(RegionInput, RegionKind.Input, null, 0, writable: true, null);
        SetRegion(RegionProbe, RegionKind.Probe, null, 0, writable: false, null);
        _rng = Options.PrandomSeed == 0 ? 1 : Options.PrandomSeed;
        _clock = Options.KtimeStartNs;
        StandardHelpers.Register(this);
    }

    /// <summary>The options the VM was created with.</summary>
    public VmOptions Options { get; }

    /// <summary>Whether this runtime can compile IL at run time (false under Native AOT).</summary>
    public static bool IsJitSupported => RuntimeFeature.IsDynamicCodeSupported;

    /// <summary>Why <see cref="VmEngine.Jit"/> falls back to the interpreter here, or null when it does not.</summary>
    public static string? JitUnavailableReason => IsJitSupported
        ? null
        : "dynamic code is not supported by this runtime (Native AOT): the VM runs programs on the interpreter";

    /// <summary>The maps of this VM.</summary>
    public IReadOnlyList<VmMap> Maps => _maps;

    /// <summary>Lines written by <c>bpf_trace_printk</c> when no <see cref="VmOptions.TraceSink"/> is set.</summary>
    public IReadOnlyList<string> TraceLog => _traceLog;

    /// <summary>The packet after the last packet run (the whole frame, Ethernet header first).</summary>
    public ReadOnlySpan<byte> Packet => new(_packet + _frameStart, _dataEnd - _frameStart);

    /// <summary>The context after the last packet run (e.g. the <c>__sk_buff</c> with <c>mark</c> set by the program).</summary>
    public ReadOnlySpan<byte> Context => new(_ctx, _ctxLayout?.Size ?? 0);

    /// <summary>The input memory after the last <see cref="VmProgram.Run(ReadOnlySpan{byte})"/> (the program may have written it).</summary>
    public ReadOnlySpan<byte> InputMemory => new(_input, _inputLength);

    /// <summary>Registers (or replaces, or with null removes) helper <paramref name="id"/>.</summary>
    public void SetHelper(int id, VmHelper? helper)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(id);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(id, _helpers.Length);
        _helpers[id] = helper;
    }

    /// <summary>Whether helper <paramref name="id"/> is registered.</summary>
    public bool HasHelper(int id) => (uint)id < (uint)_helpers.Length && _helpers[id] is not null;

    /// <summary>Makes <paramref name="bytes"/> readable at a VM address for <c>bpf_probe_read*</c> (replacing what
    /// was there) and returns that address.</summary>
    public ulong SetProbeMemory(ReadOnlySpan<byte> bytes)
    {
        if (_probe != null) NativeMemory.Free(_probe);
        _probe = (byte*)NativeMemory.Alloc((nuint)Math.Max(bytes.Length, 1));
        bytes.CopyTo(new Span<byte>(_probe, bytes.Length));
        _probeLength = bytes.Length;
        SetRegion(RegionProbe, RegionKind.Probe, _probe, (ulong)bytes.Length, writable: false, null);
        return (ulong)RegionProbe << Mem.RegionShift;
    }

    /// <summary>Loads a program (validated and decoded; maps referenced by fd must belong to this VM).</summary>
    /// <exception cref="VmProgramException">The program is invalid for the VM (the message names the instruction).</exception>
    public VmProgram Load(ReadOnlySpan<Instruction> instructions, ProgramType type = ProgramType.Unspecified, string name = "prog") =>
        new(this, instructions.ToArray(), type, name, null);

    /// <summary>Loads a program of a spec; its <see cref="ProgramSpec.MapReferences"/> are resolved against
    /// <paramref name="maps"/> (map name → VM map); lddw of fd_array indices use <see cref="ProgramSpec.FdArray"/>
    /// holding VM map fds.</summary>
    /// <exception cref="VmProgramException">Invalid program or an unresolved map reference.</exception>
    public VmProgram Load(ProgramSpec spec, IReadOnlyDictionary<string, VmMap>? maps = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return new VmProgram(this, (Instruction[])spec.Instructions.Clone(), spec.Type, spec.Name, (spec.MapReferences, maps),
            spec.FdArray.Length > 0 ? spec.FdArray : null);
    }

    internal VmMap? MapByFd(int fd) => _mapsByFd.GetValueOrDefault(fd);

    internal VmMap? MapByHandle(ulong handle)
    {
        uint index = (uint)(handle >> Mem.RegionShift);
        if ((uint)handle != 0 || index >= RegionCount || _kinds[index] != RegionKind.MapHandle) return null;
        return _owners[index] as VmMap;
    }

    internal object? RegionOwner(ulong address)
    {
        uint index = (uint)(address >> Mem.RegionShift);
        return index < RegionCount ? _owners[index] : null;
    }

    internal VmHelper? Helper(int id) => (uint)id < (uint)_helpers.Length ? _helpers[id] : null;

    internal void AddMap(VmMap map)
    {
        map.Fd = _nextFd++;
        map.HandleRegion = AddRegion(RegionKind.MapHandle, null, 0, false, map);
        _maps.Add(map);
        _mapsByFd.Add(map.Fd, map);
    }

    internal uint AddRegion(RegionKind kind, byte* basePtr, ulong length, bool writable, object? owner)
    {
        if (RegionCount == _regionCapacity)
        {
            uint cap = _regionCapacity * 2;
            Regions = (Region*)NativeMemory.Realloc(Regions, cap * (nuint)sizeof(Region));
            Array.Resize(ref _kinds, (int)cap);
            Array.Resize(ref _owners, (int)cap);
            _regionCapacity = cap;
        }
        uint index = RegionCount++;
        SetRegion(index, kind, basePtr, length, writable, owner);
        return index;
    }

    internal void SetRegion(uint index, RegionKind kind, byte* basePtr, ulong length, bool writable, object? owner)
    {
        Regions[index] = new Region { Base = basePtr, ReadLength = length, WriteLength = writable ? length : 0 };
        _kinds[index] = kind;
        _owners[index] = owner;
    }

    /// <summary>The stack address r10 holds in frame <paramref name="depth"/> (frames grow down from the top).</summary>
    internal static ulong FramePointer(int depth) =>
        ((ulong)RegionStack << Mem.RegionShift) + (ulong)((MaxFrames - depth) * StackSizePerFrame);

    // ---------------------------------------------------------------- memory for helpers

    /// <summary>The <paramref name="length"/> bytes at VM address <paramref name="address"/> for reading.</summary>
    /// <exception cref="VmMemoryException">The range is not readable (the message names the current pc).</exception>
    public ReadOnlySpan<byte> Read(ulong address, int length)
    {
        if (length == 0) return default;
        byte* p = length > 0 ? Mem.Read(Regions, RegionCount, address, (uint)length) : null;
        if (p == null) throw Fault(CurrentPc, address, length, false);
        return new ReadOnlySpan<byte>(p, length);
    }

    /// <summary>The <paramref name="length"/> bytes at VM address <paramref name="address"/> for writing.</summary>
    /// <exception cref="VmMemoryException">The range is not writable.</exception>
    public Span<byte> Write(ulong address, int length)
    {
        if (length == 0) return default;
        byte* p = length > 0 ? Mem.Write(Regions, RegionCount, address, (uint)length) : null;
        if (p == null) throw Fault(CurrentPc, address, length, true);
        return new Span<byte>(p, length);
    }

    /// <summary>Like <see cref="Read"/> but false instead of a fault (probe_read semantics).</summary>
    public bool TryRead(ulong address, int length, out ReadOnlySpan<byte> bytes)
    {
        byte* p = length > 0 ? Mem.Read(Regions, RegionCount, address, (uint)length) : null;
        bytes = p == null ? default : new ReadOnlySpan<byte>(p, length);
        return p != null || length == 0;
    }

    internal ulong LoadSlow(int pc, ulong address, int size)
    {
        uint index = (uint)(address >> Mem.RegionShift);
        if (index == RegionContext && _ctxLayout is { } layout)
        {
            uint off = (uint)address;
            if ((ulong)off + (uint)size <= (ulong)layout.Size)
            {
                int o = (int)off;
                if (o == layout.DataOffset || o == layout.DataEndOffset || o == layout.DataMetaOffset)
                {
                    if (size != 4) throw Fault(pc, address, size, false, $"(the {layout.Name} packet pointer fields are read as 4 bytes)");
                    int at = o == layout.DataOffset ? _dataStart : o == layout.DataEndOffset ? _dataEnd : _metaStart;
                    return ((ulong)RegionPacket << Mem.RegionShift) + (ulong)(at - _metaStart);
                }
                if (!Overlaps(layout, o, size))
                {
                    byte* p = _ctx + off;
                    return size switch { 1 => *p, 2 => Unsafe.ReadUnaligned<ushort>(p), 4 => Unsafe.ReadUnaligned<uint>(p), _ => Unsafe.ReadUnaligned<ulong>(p) };
                }
            }
        }
        throw Fault(pc, address, size, false);
    }

    private static bool Overlaps(ContextLayout l, int o, int size)
    {
        static bool In(int field, int o, int size) => field >= 0 && o < field + 4 && field < o + size;
        return In(l.DataOffset, o, size) || In(l.DataEndOffset, o, size) || In(l.DataMetaOffset, o, size);
    }

    internal void StoreSlow(int pc, ulong address, int size, ulong value)
    {
        uint index = (uint)(address >> Mem.RegionShift);
        if (index == RegionContext && _ctxLayout is { } layout)
        {
            uint off = (uint)address;
            if ((ulong)off + (uint)size <= (ulong)layout.Size)
            {
                bool ok = true;
                for (int i = 0; i < size; i++) ok &= layout.Writable[off + i];
                if (ok)
                {
                    byte* p = _ctx + off;
                    switch (size)
                    {
                        case 1: *p = (byte)value; break;
                        case 2: Unsafe.WriteUnaligned(p, (ushort)value); break;
                        case 4: Unsafe.WriteUnaligned(p, (uint)value); break;
                        default: Unsafe.WriteUnaligned(p, value); break;
                    }
                    return;
                }
                throw Fault(pc, address, size, true, $"(a read-only field of {layout.Name})");
            }
        }
        throw Fault(pc, address, size, true);
    }

    internal VmMemoryException Fault(int pc, ulong address, int size, bool write, string? detail = null)
    {
        uint index = (uint)(address >> Mem.RegionShift);
        uint off = (uint)address;
        string where;
        if (index >= RegionCount || index == 0) where = "is not in any region";
        else
        {
            var kind = _kinds[index];
            var r = Regions[index];
            string name = kind switch
            {
                RegionKind.MapValues or RegionKind.MapHandle or RegionKind.RingBuffer => $"{kind} of map '{((VmMap)_owners[index]!).Name}'",
                RegionKind.Context => $"context ({_ctxLayout?.Name ?? "none"}, {_ctxLayout?.Size ?? 0} bytes)",
                _ => kind.ToString().ToLowerInvariant(),
            };
            ulong len = write ? r.WriteLength : r.ReadLength;
            where = kind is RegionKind.MapHandle or RegionKind.Code
                ? $"is a {name} address, not memory"
                : write && r.WriteLength == 0 && r.ReadLength > 0
                    ? $"is in read-only {name}"
                    : $"is outside {name} (offset {off}, {len} bytes accessible)";
        }
        return new VmMemoryException(pc, address, size, write, detail is null ? where : $"{where} {detail}");
    }

    // ---------------------------------------------------------------- runs

    internal void PrepareInput(ReadOnlySpan<byte> memory)
    {
        if (memory.Length > _inputCapacity)
        {
            if (_input != null) NativeMemory.Free(_input);
            _inputCapacity = Math.Max(memory.Length, 64);
            _input = (byte*)NativeMemory.Alloc((nuint)_inputCapacity);
        }
        memory.CopyTo(new Span<byte>(_input, _inputCapacity));
        _inputLength = memory.Length;
        SetRegion(RegionInput, RegionKind.Input, _input, (ulong)memory.Length, writable: true, null);
        _ctxLayout = null;
        SetRegion(RegionContext, RegionKind.Context, _ctx, 0, writable: false, null);
    }

    internal void PreparePacket(ContextLayout layout, ReadOnlySpan<byte> frame, ReadOnlySpan<byte> context)
    {
        if (frame.Length < 14) throw new ArgumentException($"a packet needs at least an Ethernet header (14 bytes), got {frame.Length}", nameof(frame));
        if (frame.Length > Options.MaxPacketSize)
            throw new ArgumentException($"the packet is {frame.Length} bytes, more than MaxPacketSize {Options.MaxPacketSize}", nameof(frame));
        if (layout.IsSkb && frame.Length >= 14)
        {
            // the kernel's skb test run refuses an IPv4/IPv6 frame too short for its network header (EINVAL)
            int type = frame[12] << 8 | frame[13];
            if ((type == 0x0800 && frame.Length < 14 + 20) || (type == 0x86dd && frame.Length < 14 + 40))
                throw new ArgumentException($"a {(type == 0x0800 ? "IPv4" : "IPv6")} frame of {frame.Length} bytes is shorter than its network header (the kernel's test run refuses it too)", nameof(frame));
        }
        _ctxLayout = layout;
        _frameStart = PacketHeadroom;
        frame.CopyTo(new Span<byte>(_packet + _frameStart, frame.Length));
        _dataEnd = _frameStart + frame.Length;
        _dataStart = layout.L2 ? _frameStart : _frameStart + 14;
        _metaStart = _dataStart;
        UpdatePacketRegion();
        var ctx = new Span<byte>(_ctx, layout.Size);
        layout.Initialize(ctx, frame, _dataEnd - _dataStart, Options.IfIndex);
        if (!context.IsEmpty)
        {
            if (context.Length > layout.Size) throw new ArgumentException($"the context is {context.Length} bytes, {layout.Name} has {layout.Size}", nameof(context));
            // like the kernel's test run: only the fields a caller may set are taken (the writable ones)
            for (int i = 0; i < context.Length; i++)
                if (layout.Writable[i]) ctx[i] = context[i];
        }
        SetRegion(RegionContext, RegionKind.Context, _ctx, 0, writable: false, null);
        SetRegion(RegionInput, RegionKind.Input, _input, 0, writable: false, null);
    }

    private void UpdatePacketRegion() =>
        SetRegion(RegionPacket, RegionKind.Packet, _packet + _metaStart, (ulong)(_dataEnd - _metaStart), writable: true, null);

    /// <summary>Moves the start of packet data by <paramref name="delta"/> (negative: grow at the front).</summary>
    internal bool AdjustHead(int delta)
    {
        long start = (long)_dataStart + delta;
        if (start < 0 || start > _dataEnd - 14 || (_ctxLayout?.L2 == true && start < 0)) return false;
        if (_metaStart < _dataStart && start < _metaStart) return false;
        int meta = _dataStart - _metaStart;
        _dataStart = (int)start;
        _metaStart = _dataStart - meta;
        if (_metaStart < 0) return false;
        if (_ctxLayout?.L2 == true) _frameStart = _dataStart;
        if (delta < 0) new Span<byte>(_packet + _dataStart, -delta).Clear();
        UpdatePacketRegion();
        return true;
    }

    internal bool AdjustMeta(int delta)
    {
        long meta = (long)_metaStart + delta;
        if (meta > _dataStart || meta < _dataStart - 32 || meta < 0) return false;
        _metaStart = (int)meta;
        UpdatePacketRegion();
        return true;
    }

    internal bool AdjustTail(int delta)
    {
        long end = (long)_dataEnd + delta;
        if (end < _dataStart + 14 || end > _packetCapacity) return false;
        if (delta > 0) new Span<byte>(_packet + _dataEnd, delta).Clear();
        _dataEnd = (int)end;
        UpdatePacketRegion();
        return true;
    }

    internal int PacketDataLength => _dataEnd - _dataStart;

    internal void ClearLinkHeader()
    {
        _frameStart = _dataStart - 14;
        new Span<byte>(_packet + _frameStart, 14).Clear();
    }

    internal Span<byte> PacketData => new(_packet + _dataStart, _dataEnd - _dataStart);

    internal ulong Execute(VmProgram program, ulong r1, ulong r2)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        BudgetLeft = Options.InstructionBudget;
        TailCallCount = 0;
        PendingTailCall = null;
        ExitRequested = false;
        Depth = 0;
        // the main frame starts zeroed (deterministic runs); callee frames keep what earlier runs left, as uninitialized
        // as the kernel's stack (a verified program never reads stack it did not write)
        new Span<byte>(Stack + (MaxFrames - 1) * StackSizePerFrame, StackSizePerFrame).Clear();
        var p = program;
        try
        {
            while (true)
            {
                Current = p;
                ulong r0 = p.ExecuteOnce(r1, r2);
                if (PendingTailCall is null) return r0;
                p = PendingTailCall;
                PendingTailCall = null;
                r1 = TailCallContext;
            }
        }
        finally
        {
            Current = null;
            if (_recordsProduced)
            {
                _recordsProduced = false;
                foreach (var m in _maps) m.AfterRun();
            }
        }
    }

    internal void NoteRecordsProduced() => _recordsProduced = true;

    /// <summary>Called by the engines for <c>bpf_tail_call</c>: true when the run continues in another program
    /// (the engine returns at once), false when the call falls through.</summary>
    internal bool TryTailCall(int pc, ulong ctx, ulong mapHandle, ulong index)
    {
        if (Depth != 0) throw new VmException(pc, "bpf_tail_call from a bpf-to-bpf callee is not supported by the VM");
        if (MapByHandle(mapHandle) is not ProgramArrayVmMap progs) throw new VmException(pc, $"bpf_tail_call: r2 (0x{mapHandle:x}) is not a program array");
        if (index >= progs.MaxEntries || TailCallCount >= MaxTailCalls) return false;
        var target = progs.Get((uint)index);
        if (target is null) return false;
        TailCallCount++;
        PendingTailCall = target;
        TailCallContext = ctx;
        return true;
    }

    internal ulong CallHelper(int pc, int id, ulong r1, ulong r2, ulong r3, ulong r4, ulong r5)
    {
        var h = _helpers[id] ?? throw new VmException(pc, $"helper {id} is not registered");
        CurrentPc = pc;
        return h(this, r1, r2, r3, r4, r5);
    }

    /// <summary>Stops the current run after the running helper returns; the run's result is the helper's return
    /// value. (How bpf_conformance's <c>unwind</c> helper works.)</summary>
    public void RequestExit() => ExitRequested = true;

    internal ulong NextClock()
    {
        ulong t = _clock;
        _clock += Options.KtimeStepNs;
        return t;
    }

    internal uint NextRandom()
    {
        ulong x = _rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        _rng = x;
        return (uint)((x * 0x2545F4914F6CDD1DUL) >> 32);
    }

    internal void Trace(string line)
    {
        if (Options.TraceSink is { } sink) sink(line);
        else _traceLog.Add(line);
    }

    /// <summary>Releases the VM's memory and its maps.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var m in _maps) m.Release();
        NativeMemory.Free(Regions);
        NativeMemory.AlignedFree(Stack);
        NativeMemory.Free(Frames);
        NativeMemory.Free(_ctx);
        NativeMemory.AlignedFree(_packet);
        if (_input != null) NativeMemory.Free(_input);
        if (_probe != null) NativeMemory.Free(_probe);
        Regions = null;
        RegionCount = 0;
    }
}
