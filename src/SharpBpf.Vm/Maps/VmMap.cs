using System.Runtime.InteropServices;
using SharpBpf.Maps;

namespace SharpBpf.Vm;

/// <summary>A map emulated in VM memory. Programs reach it through the map helpers; the host through
/// <see cref="TryLookup"/>, <see cref="Update"/>, <see cref="Delete"/> and <see cref="Entries"/> (per-CPU maps take and
/// give every CPU's value, each rounded up to 8 bytes, like the kernel's syscall interface). Values live in one
/// region per map: a value pointer is checked against the map's storage.</summary>
public abstract unsafe class VmMap
{
    private protected const long ENOENT = 2, E2BIG = 7, ENOMEM = 12, EBUSY = 16, EEXIST = 17, EINVAL = 22, ENOSPC = 28;

    private protected VmMap(BpfVm vm, MapSpec spec)
    {
        Vm = vm;
        Spec = spec;
        Name = spec.Name;
        Type = spec.Type;
        KeySize = spec.KeySize;
        ValueSize = spec.ValueSize;
        MaxEntries = spec.MaxEntries;
        Flags = spec.Flags;
    }

    private protected BpfVm Vm { get; }

    /// <summary>The spec the map was created from.</summary>
    public MapSpec Spec { get; }

    /// <summary>Map name.</summary>
    public string Name { get; }

    /// <summary>Map type.</summary>
    public MapType Type { get; }

    /// <summary>Key size in bytes.</summary>
    public uint KeySize { get; }

    /// <summary>Value size in bytes (of one CPU's value for per-CPU maps).</summary>
    public uint ValueSize { get; }

    /// <summary>Capacity.</summary>
    public uint MaxEntries { get; }

    /// <summary>Creation flags.</summary>
    public MapFlags Flags { get; }

    /// <summary>The VM's stand-in for a map fd: what <c>lddw rX, map_fd</c> takes in programs run by this VM.</summary>
    public int Fd { get; internal set; }

    /// <summary>Bytes a host-side value has (all CPUs for per-CPU maps).</summary>
    public virtual int HostValueSize => (int)ValueSize;

    internal uint HandleRegion;

    // ------------------------------------------------------------ program side (errno results are negative)

    internal virtual ulong ProgramLookup(ReadOnlySpan<byte> key) => 0;
    internal virtual ulong ProgramLookupOnCpu(ReadOnlySpan<byte> key, int cpu) => 0;
    internal virtual long ProgramUpdate(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, ulong flags) => -EINVAL;
    internal virtual long ProgramDelete(ReadOnlySpan<byte> key) => -EINVAL;
    internal virtual long Push(ReadOnlySpan<byte> value, ulong flags) => -EINVAL;
    internal virtual long Pop(Span<byte> value, bool remove) => -EINVAL;
    internal virtual ulong? DirectValueAddress(uint offset) => null;
    internal virtual void AfterRun() { }
    internal virtual void Release() { }

    // ------------------------------------------------------------ host side

    /// <summary>Copies the value of <paramref name="key"/> into <paramref name="value"/> (<see cref="HostValueSize"/> bytes).</summary>
    /// <exception cref="ArgumentException">Wrong key or value size.</exception>
    public abstract bool TryLookup(ReadOnlySpan<byte> key, Span<byte> value);

    /// <summary>Creates or updates an entry (<paramref name="value"/> has <see cref="HostValueSize"/> bytes).</summary>
    /// <exception cref="VmMapException">The map refuses (full, exists, no such key, ...): the errno says why.</exception>
    public abstract void Update(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, UpdateFlags flags = UpdateFlags.Any);

    /// <summary>Deletes an entry; false when there was none.</summary>
    /// <exception cref="VmMapException">The map type does not delete (arrays).</exception>
    public abstract bool Delete(ReadOnlySpan<byte> key);

    /// <summary>A snapshot of the entries (key, host value) in the map's iteration order.</summary>
    public abstract IReadOnlyList<(byte[] Key, byte[] Value)> Entries();

    private protected void CheckKey(ReadOnlySpan<byte> key)
    {
        if (key.Length != KeySize) throw new ArgumentException($"map '{Name}' has {KeySize}-byte keys, got {key.Length}", nameof(key));
    }

    private protected void CheckHostValue(int length)
    {
        if (length != HostValueSize) throw new ArgumentException($"map '{Name}' takes {HostValueSize}-byte values, got {length}", "value");
    }

    private protected void ThrowIfError(long result, string operation)
    {
        if (result < 0) throw new VmMapException(Name, operation, (int)-result);
    }

    private protected static byte* Alloc(ulong bytes)
    {
        var p = (byte*)NativeMemory.AlignedAlloc((nuint)Math.Max(bytes, 8), 64);
        new Span<byte>(p, checked((int)Math.Max(bytes, 8))).Clear();
        return p;
    }

    private protected static void Free(byte* p)
    {
        if (p != null) NativeMemory.AlignedFree(p);
    }

    private protected static uint Round8(uint n) => (n + 7) & ~7u;

    /// <inheritdoc/>
    public override string ToString() => $"VM {Type} '{Name}' key={KeySize} value={ValueSize} max_entries={MaxEntries}";
}

/// <summary>A VM map operation failed; <see cref="Errno"/> is what the kernel would return (ENOENT, E2BIG, EEXIST ...).</summary>
public sealed class VmMapException(string map, string operation, int errno)
    : Exception($"{operation} on VM map '{map}' failed: errno {errno} ({ErrnoName(errno)})")
{
    /// <summary>The errno.</summary>
    public int Errno { get; } = errno;

    private static string ErrnoName(int e) => e switch
    {
        2 => "ENOENT", 7 => "E2BIG", 12 => "ENOMEM", 16 => "EBUSY", 17 => "EEXIST", 22 => "EINVAL", 28 => "ENOSPC", _ => "?",
    };
}
