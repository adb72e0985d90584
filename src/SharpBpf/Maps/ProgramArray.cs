namespace SharpBpf.Maps;

/// <summary>Program array for tail calls (ProgramArray, Linux 4.2): index → program. All programs in one array
/// must share a program type.</summary>
public sealed class ProgramArray : BpfMap
{
    /// <summary>Takes over <paramref name="map"/> (a ProgramArray with 4-byte keys and values).</summary>
    /// <exception cref="ArgumentException">Wrong map type or sizes.</exception>
    public ProgramArray(BpfMap map)
        : base(MapChecks.Check(map, 4, 4, typeof(uint), typeof(int), [MapType.ProgramArray]))
    {
    }

    /// <summary>Creates the array (BPF_MAP_CREATE).</summary>
    public static ProgramArray Create(string name, uint maxEntries, MapFlags flags = MapFlags.None) =>
        new(MapChecks.Create(name, MapType.ProgramArray, 4, 4, maxEntries, flags));

    /// <summary>Puts the program <paramref name="programFd"/> at <paramref name="index"/>.</summary>
    public void Set(uint index, int programFd) => SetFdCore(index, programFd, UpdateFlags.Any);

    /// <summary>Empties slot <paramref name="index"/>; false when it was empty.</summary>
    public bool Clear(uint index) => DeleteCore(index);

    /// <summary>The id of the program at <paramref name="index"/>; false when the slot is empty.</summary>
    public bool TryGetProgramId(uint index, out uint programId)
    {
        bool found = TryLookupScalarCore(index, out ulong id);
        programId = (uint)id;
        return found;
    }
}
