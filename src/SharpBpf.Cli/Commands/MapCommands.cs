using System.CommandLine;
using System.Text.Json;
using SharpBpf.Internal;
using SharpBpf.Maps;
using Spectre.Console;

namespace SharpBpf.Cli.Commands;

/// <summary><c>sharpbpf map list|show|dump|lookup|update|delete|create|pin</c>, like <c>bpftool map</c>; keys and
/// values are printed through the map's BTF types when it has them (see <see cref="BtfValueFormatter"/>).</summary>
internal static class MapCommands
{
    public static Command Build()
    {
        var map = new Command("map", "Inspect BPF maps loaded in the kernel");
        map.Subcommands.Add(Common.ListCommand("List all maps", List));
        map.Subcommands.Add(Common.IdCommand("show", "Show one map", "map", Show));
        map.Subcommands.Add(Common.IdCommand("dump", "Dump all entries of a map (through its BTF types when it has them, else as hex)", "map", Dump));
        foreach (var verb in MapEditCommands.Build()) map.Subcommands.Add(verb);
        return map;
    }

    private static int List(bool json)
    {
        var infos = Common.ReadAll(BpfMap.EnumerateIds(), BpfMap.FromId, m => m.GetInfo());
        if (json)
        {
            Common.WriteJsonArray(infos, WriteInfo);
            return 0;
        }
        var table = new Table().AddColumns("ID", "TYPE", "NAME", "KEY", "VALUE", "MAX_ENTRIES", "FLAGS", "BTF");
        foreach (var i in infos)
            table.AddRow(i.Id.ToString(), TypeName(i.Type), Markup.Escape(i.Name), i.KeySize.ToString(), i.ValueSize.ToString(),
                i.MaxEntries.ToString(), $"0x{(uint)i.Flags:x}", i.BtfId == 0 ? "-" : i.BtfId.ToString());
        Output.Console.Write(table);
        Output.Writer.WriteLine($"{infos.Count} maps");
        return 0;
    }

    private static int Show(uint id, bool json)
    {
        using var m = Open(id);
        var i = m.GetInfo();
        if (json)
        {
            Common.WriteJson(w => WriteInfo(w, i));
            return 0;
        }
        var grid = new Grid().AddColumn().AddColumn();
        grid.AddRow("id", i.Id.ToString());
        grid.AddRow("type", TypeName(i.Type));
        grid.AddRow("name", Markup.Escape(i.Name));
        grid.AddRow("key", $"{i.KeySize}B");
        grid.AddRow("value", $"{i.ValueSize}B");
        grid.AddRow("max_entries", i.MaxEntries.ToString());
        grid.AddRow("flags", $"0x{(uint)i.Flags:x} ({i.Flags})");
        if (i.BtfId != 0) grid.AddRow("btf_id", i.BtfId.ToString());
        if (i.MapExtra != 0) grid.AddRow("map_extra", $"0x{i.MapExtra:x}");
        Output.Console.Write(grid);
        return 0;
    }

    private static int Dump(uint id, bool json)
    {
        using var m = Open(id);
        if (m.KeySize == 0 || m.Type is MapType.PerfEventArray or MapType.RingBuf or MapType.UserRingBuf)
            throw new InvalidOperationException($"map {id} ({TypeName(m.Type)}) has no keys to dump");
        var btf = MapBtf.Read(m);
        var key = new byte[m.KeySize];
        var next = new byte[m.KeySize];
        var value = new byte[m.ValueBufferSize];
        var entries = new List<(byte[] Key, byte[]? Value)>();
        bool first = true;
        while (m.TryGetNextKey(first ? default : key, next))
        {
            first = false;
            next.CopyTo(key, 0);
            // Fd-valued maps (prog/map arrays...) cannot be read back by value: show keys only.
            bool readable = m.TryLookupSafe(key, value, out bool found);
            if (readable && !found) continue; // deleted while we iterated
            entries.Add((key.ToArray(), readable ? value.ToArray() : null));
        }
        if (json)
        {
            Common.WriteJson(w =>
            {
                w.WriteStartArray();
                foreach (var (k, v) in entries) WriteEntryJson(w, m, btf, k, v);
                w.WriteEndArray();
            });
            return 0;
        }
        foreach (var (k, v) in entries) WriteEntryText(m, btf, k, v);
        Output.Writer.WriteLine($"Found {entries.Count} element{(entries.Count == 1 ? "" : "s")}");
        return 0;
    }

    /// <summary>One entry as bpftool's JSON: "key"/"value" (or per-CPU "values") as hex byte strings, plus a
    /// "formatted" section through the map's BTF types when it has them.</summary>
    internal static void WriteEntryJson(Utf8JsonWriter w, BpfMap m, MapBtf? btf, byte[] k, byte[]? v)
    {
        bool perCpu = BpfMap.IsPerCpu(m.Type);
        int stride = (int)BpfMap.Align8(m.ValueSize);
        w.WriteStartObject();
        Common.WriteHexArray(w, "key", k);
        if (v is null) w.WriteNull("value");
        else if (!perCpu) Common.WriteHexArray(w, "value", v);
        else
        {
            w.WriteStartArray("values");
            for (int cpu = 0; cpu < Platform.PossibleCpus; cpu++)
            {
                w.WriteStartObject();
                w.WriteNumber("cpu", cpu);
                Common.WriteHexArray(w, "value", v.AsSpan(cpu * stride, (int)m.ValueSize));
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        if (btf is not null && btf.TryFormat(k, v, perCpu, stride, (int)m.ValueSize, out string? formatted))
        {
            w.WritePropertyName("formatted");
            w.WriteRawValue(formatted);
        }
        w.WriteEndObject();
    }

    /// <summary>One entry as text: "key: ...  value: ..." with BTF-formatted (compact JSON) or hex sides.</summary>
    internal static void WriteEntryText(BpfMap m, MapBtf? btf, byte[] k, byte[]? v)
    {
        bool perCpu = BpfMap.IsPerCpu(m.Type);
        int stride = (int)BpfMap.Align8(m.ValueSize);
        string keyText = btf?.KeyText(k) ?? Common.Hex(k);
        if (v is null) Output.Writer.WriteLine($"key: {keyText}  value: <not readable from user space>");
        else if (!perCpu) Output.Writer.WriteLine($"key: {keyText}  value: {btf?.ValueText(v) ?? Common.Hex(v)}");
        else
        {
            Output.Writer.WriteLine($"key: {keyText}");
            for (int cpu = 0; cpu < Platform.PossibleCpus; cpu++)
            {
                var one = v.AsSpan(cpu * stride, (int)m.ValueSize).ToArray();
                Output.Writer.WriteLine($"  value (CPU {cpu:00}): {btf?.ValueText(one) ?? Common.Hex(one)}");
            }
        }
    }

    internal static BpfMap Open(uint id)
    {
        try
        {
            return BpfMap.FromId(id);
        }
        catch (BpfException e) when (e.Errno == Interop.Errno.ENOENT)
        {
            throw new InvalidOperationException($"no map with id {id}", e);
        }
    }

    /// <summary>Lookup that reports maps whose values user space cannot read (prog arrays etc.).</summary>
    internal static bool TryLookupSafe(this BpfMap m, byte[] key, byte[] value, out bool found)
    {
        try
        {
            found = m.TryLookup(key, value);
            return true;
        }
        catch (BpfException e) when (e.Errno is Interop.Errno.EOPNOTSUPP or Interop.Errno.ENOTSUPP or Interop.Errno.EINVAL)
        {
            found = true;
            return false;
        }
    }

    internal static string TypeName(MapType t) => t switch
    {
        MapType.Hash => "hash", MapType.Array => "array", MapType.ProgramArray => "prog_array",
        MapType.PerfEventArray => "perf_event_array", MapType.PerCpuHash => "percpu_hash",
        MapType.PerCpuArray => "percpu_array", MapType.StackTrace => "stack_trace", MapType.CgroupArray => "cgroup_array",
        MapType.LruHash => "lru_hash", MapType.LruPerCpuHash => "lru_percpu_hash", MapType.LpmTrie => "lpm_trie",
        MapType.ArrayOfMaps => "array_of_maps", MapType.HashOfMaps => "hash_of_maps", MapType.DevMap => "devmap",
        MapType.SockMap => "sockmap", MapType.CpuMap => "cpumap", MapType.XskMap => "xskmap", MapType.SockHash => "sockhash",
        MapType.CgroupStorage => "cgroup_storage", MapType.ReuseportSockArray => "reuseport_sockarray",
        MapType.PerCpuCgroupStorage => "percpu_cgroup_storage", MapType.Queue => "queue", MapType.Stack => "stack",
        MapType.SkStorage => "sk_storage", MapType.DevMapHash => "devmap_hash", MapType.StructOps => "struct_ops",
        MapType.RingBuf => "ringbuf", MapType.InodeStorage => "inode_storage", MapType.TaskStorage => "task_storage",
        MapType.BloomFilter => "bloom_filter", MapType.UserRingBuf => "user_ringbuf", MapType.CgrpStorage => "cgrp_storage",
        MapType.Arena => "arena",
        _ => $"type {(uint)t}",
    };

    private static void WriteInfo(Utf8JsonWriter w, MapInfo i)
    {
        w.WriteStartObject();
        w.WriteNumber("id", i.Id);
        w.WriteString("type", TypeName(i.Type));
        w.WriteString("name", i.Name);
        w.WriteNumber("bytes_key", i.KeySize);
        w.WriteNumber("bytes_value", i.ValueSize);
        w.WriteNumber("max_entries", i.MaxEntries);
        w.WriteNumber("flags", (uint)i.Flags);
        if (i.BtfId != 0) w.WriteNumber("btf_id", i.BtfId);
        w.WriteEndObject();
    }
}
