using SharpBpf.Maps;
using SharpBpf.Programs;

namespace SharpBpf.Vm;

/// <summary>The maps and programs of a <see cref="CollectionSpec"/> (e.g. <see cref="Elf.ElfReader"/> output) loaded into
/// a VM: maps created with their initial contents (global data sections included), map and global-data references
/// of the programs resolved, program arrays filled from their <c>values</c>. CO-RE relocations are not applied (the
/// VM has no kernel types to relocate against).</summary>
public sealed class VmCollection
{
    private VmCollection(Dictionary<string, VmMap> maps, Dictionary<string, VmProgram> programs)
    {
        Maps = maps;
        Programs = programs;
    }

    /// <summary>Maps by name (global data by section name, e.g. <c>.data</c>).</summary>
    public IReadOnlyDictionary<string, VmMap> Maps { get; }

    /// <summary>Programs by name.</summary>
    public IReadOnlyDictionary<string, VmProgram> Programs { get; }

    /// <summary>Loads <paramref name="spec"/> into <paramref name="vm"/>; <paramref name="programs"/> picks programs by
    /// name (default: every program with <see cref="ProgramSpec.AutoLoad"/>).</summary>
    /// <exception cref="NotSupportedException">A map type the VM does not emulate.</exception>
    /// <exception cref="VmProgramException">A program the VM cannot run (the message names it).</exception>
    public static VmCollection Load(BpfVm vm, CollectionSpec spec, Func<string, bool>? programs = null)
    {
        ArgumentNullException.ThrowIfNull(vm);
        ArgumentNullException.ThrowIfNull(spec);
        var maps = new Dictionary<string, VmMap>(StringComparer.Ordinal);
        foreach (var (name, ms) in spec.Maps) maps[name] = vm.CreateMap(ms);
        var progs = new Dictionary<string, VmProgram>(StringComparer.Ordinal);
        foreach (var (name, ps) in spec.Programs)
        {
            if (programs is null ? !ps.AutoLoad : !programs(name)) continue;
            if (ps.ExternReferences.Count > 0)
                throw new VmProgramException(-1, $"program '{name}' references kernel externs ({ps.ExternReferences.Count}), which the VM cannot resolve");
            try
            {
                progs[name] = vm.Load(ps, maps);
            }
            catch (VmProgramException e)
            {
                throw new VmProgramException(e.Pc, $"program '{name}': {e.Message}");
            }
        }
        foreach (var (name, ms) in spec.Maps)
        {
            if (ms.Type != MapType.ProgramArray || ms.Contents is null) continue;
            var array = (ProgramArrayVmMap)maps[name];
            foreach (var e in ms.Contents)
            {
                if (e.ProgramName is null || e.Key.Length != 4) continue;
                if (progs.TryGetValue(e.ProgramName, out var target)) array.Set(BitConverter.ToUInt32(e.Key), target);
            }
        }
        return new VmCollection(maps, progs);
    }
}
