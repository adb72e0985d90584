using System.Runtime.InteropServices;
using SharpBpf.Btf;
using SharpBpf.Elf;
using SharpBpf.Maps;
using SharpBpf.Programs;

namespace SharpBpf;

/// <summary>A global variable of a BPF object: <paramref name="Size"/> bytes at <paramref name="Offset"/> in the
/// value of global data map <paramref name="MapName"/> (".rodata", ".bss", ".data.custom" ...).</summary>
public sealed record VariableSpec(string Name, string MapName, uint Offset, uint Size, bool IsConstant);

/// <summary>
/// Everything a BPF object defines, as pure data: maps, programs, global variables, BTF. Built by
/// <see cref="ElfReader"/>, editable (set constants, resize maps, turn programs off, retarget them) and loaded by
/// <see cref="BpfCollection.Load"/>. Keys are map names (global data maps by their section name, ".rodata") and
/// program names (the C function names).
/// </summary>
public sealed class CollectionSpec
{
    /// <summary>Maps by name, in definition order.</summary>
    public Dictionary<string, MapSpec> Maps { get; init; } = new(StringComparer.Ordinal);

    /// <summary>Programs by function name, in section order.</summary>
    public Dictionary<string, ProgramSpec> Programs { get; init; } = new(StringComparer.Ordinal);

    /// <summary>Global variables by symbol name.</summary>
    public Dictionary<string, VariableSpec> Variables { get; init; } = new(StringComparer.Ordinal);

    /// <summary>Externs by name (.kconfig values, __ksym variables, kfuncs), resolved against the running kernel at
    /// load time.</summary>
    public Dictionary<string, ExternSpec> Externs { get; init; } = new(StringComparer.Ordinal);

    /// <summary>The object's BTF (.BTF section), or null.</summary>
    public BtfSpec? Btf { get; init; }

    /// <summary>The object's parsed .BTF.ext section (func_info, line_info, CO-RE relocations), or null.</summary>
    public BtfExt? BtfExt { get; init; }

    /// <summary>ELF section sizes by name (for completing DATASEC sizes before the BTF is loaded).</summary>
    internal IReadOnlyDictionary<string, uint> SectionSizes { get; init; } = new Dictionary<string, uint>();

    /// <summary>Offsets of global variable symbols by name (for completing DATASEC variable offsets).</summary>
    internal IReadOnlyDictionary<string, BtfVariableSymbol> VariableSymbols { get; init; } = new Dictionary<string, BtfVariableSymbol>();

    /// <summary>Names of global functions with hidden visibility (their BTF FUNCs are made static on load).</summary>
    internal IReadOnlySet<string> HiddenFunctions { get; init; } = new HashSet<string>();

    /// <summary>The object's license string ("license" section).</summary>
    public string License { get; init; } = "";

    /// <summary>The object's kernel version ("version" section), 0 when absent.</summary>
    public uint KernelVersion { get; init; }

    /// <summary>The object name (file name up to its first '.').</summary>
    public string Name { get; init; } = "";

    /// <summary>A deep copy that can be edited without touching this one.</summary>
    public CollectionSpec Copy() => new()
    {
        Maps = Maps.ToDictionary(kv => kv.Key, kv => kv.Value.Copy(), StringComparer.Ordinal),
        Programs = Programs.ToDictionary(kv => kv.Key, kv => kv.Value.Copy(), StringComparer.Ordinal),
        Variables = new Dictionary<string, VariableSpec>(Variables, StringComparer.Ordinal),
        Externs = new Dictionary<string, ExternSpec>(Externs, StringComparer.Ordinal),
        Btf = Btf,
        BtfExt = BtfExt,
        SectionSizes = SectionSizes,
        VariableSymbols = VariableSymbols,
        HiddenFunctions = HiddenFunctions,
        License = License,
        KernelVersion = KernelVersion,
        Name = Name,
    };

    /// <summary>Sets the initial bytes of global variable <paramref name="name"/> (a <c>const volatile</c> in
    /// .rodata, or a variable in .data/.bss) before load.</summary>
    /// <exception cref="KeyNotFoundException">No variable has that name.</exception>
    /// <exception cref="ArgumentException"><paramref name="value"/> is not exactly the variable's size.</exception>
    public void SetVariable(string name, ReadOnlySpan<byte> value)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!Variables.TryGetValue(name, out var v)) throw new KeyNotFoundException($"the object has no global variable '{name}'");
        if (value.Length != v.Size)
            throw new ArgumentException($"variable '{name}' is {v.Size} bytes, got {value.Length}", nameof(value));
        if (!Maps.TryGetValue(v.MapName, out var map))
            throw new InvalidOperationException($"variable '{name}' lives in map '{v.MapName}', which was removed from the spec");
        var contents = map.Contents ??= [];
        if (contents.Count == 0) contents.Add(new MapEntry { Key = new byte[4], Value = new byte[map.ValueSize] });
        var entry = contents[0];
        if (entry.Value.Length < v.Offset + v.Size)
        {
            var grown = new byte[Math.Max(map.ValueSize, v.Offset + v.Size)];
            entry.Value.CopyTo(grown, 0);
            entry.Value = grown;
        }
        value.CopyTo(entry.Value.AsSpan((int)v.Offset, (int)v.Size));
    }

    /// <summary>Sets global variable <paramref name="name"/> to <paramref name="value"/> (its size must match).</summary>
    public void SetVariable<T>(string name, T value) where T : unmanaged =>
        SetVariable(name, MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value)));

    /// <summary>Reads the current initial bytes of global variable <paramref name="name"/>.</summary>
    public byte[] GetVariable(string name)
    {
        if (!Variables.TryGetValue(name, out var v)) throw new KeyNotFoundException($"the object has no global variable '{name}'");
        var result = new byte[v.Size];
        if (Maps.TryGetValue(v.MapName, out var map) && map.Contents is [var entry, ..] && entry.Value.Length >= v.Offset + v.Size)
            entry.Value.AsSpan((int)v.Offset, (int)v.Size).CopyTo(result);
        return result;
    }
}
