using System.CommandLine;
using System.Globalization;
using SharpBpf.Internal;
using SharpBpf.Maps;
using SharpBpf.Pinning;

namespace SharpBpf.Cli.Commands;

/// <summary>
/// <c>sharpbpf map lookup|update|delete|create|pin</c>, like <c>bpftool map</c>: keys and values are hex bytes
/// (<c>key 01 00 00 00 value 2a 00 00 00</c>; a leading <c>hex</c> word and <c>0x</c> prefixes are accepted), the map
/// is a numeric id or a bpffs path.
/// </summary>
internal static class MapEditCommands
{
    public static IEnumerable<Command> Build()
    {
        yield return EntryCommand("lookup", "Look up one key: map lookup MAP key BYTES...", Lookup, wantsValue: false);
        yield return EntryCommand("update", "Create or change an entry: map update MAP key BYTES... value BYTES... [any|exist|noexist]", Update, wantsValue: true);
        yield return EntryCommand("delete", "Delete one key: map delete MAP key BYTES...", Delete, wantsValue: false);
        yield return BuildCreate();
        yield return BuildPin();
    }

    private static Argument<string> MapArgument() =>
        new("map") { Description = "Map id (see 'map list') or the bpffs path it is pinned at" };

    private static Command EntryCommand(string name, string description, Func<BpfMap, Parsed, bool, int> run, bool wantsValue)
    {
        var map = MapArgument();
        var words = new Argument<string[]>("words")
        {
            Arity = ArgumentArity.OneOrMore,
            Description = wantsValue ? "key BYTES... value BYTES... [any|exist|noexist]" : "key BYTES...",
        };
        var json = Common.JsonOption();
        var command = new Command(name, description) { map, words, json };
        command.SetAction(p =>
        {
            var parsed = Parse(p.GetValue(words)!, wantsValue);
            using var m = OpenMap(p.GetValue(map)!);
            CheckSize("key", parsed.Key, (int)m.KeySize);
            return run(m, parsed, p.GetValue(json));
        });
        return command;
    }

    /// <summary>The words after MAP.</summary>
    internal sealed record Parsed(byte[] Key, byte[]? Value, UpdateFlags Flags);

    /// <summary>Parses <c>key BYTES... [value BYTES...] [any|exist|noexist]</c>.</summary>
    /// <exception cref="UsageException">A word is missing, unexpected or not a hex byte (named with its position).</exception>
    internal static Parsed Parse(string[] words, bool wantsValue)
    {
        var key = new List<byte>();
        var value = new List<byte>();
        List<byte>? into = null;
        UpdateFlags flags = UpdateFlags.Any;
        bool sawKey = false, sawValue = false, sawFlag = false;
        string part = "";
        for (int i = 0; i < words.Length; i++)
        {
            string w = words[i];
            switch (w)
            {
                case "key":
                    if (sawKey) throw new UsageException("'key' given twice");
                    sawKey = true;
                    into = key;
                    part = "key";
                    continue;
                case "value":
                    if (!wantsValue) throw new UsageException("this verb takes no 'value'");
                    if (sawValue) throw new UsageException("'value' given twice");
                    sawValue = true;
                    into = value;
                    part = "value";
                    continue;
                case "hex" when into is not null && into.Count == 0:
                    continue; // bpftool's "key hex 01 02": bytes are hex here anyway
                case "any" or "exist" or "noexist" when wantsValue:
                    if (sawFlag) throw new UsageException($"more than one of any|exist|noexist (word {i + 1} '{w}')");
                    sawFlag = true;
                    flags = w switch { "exist" => UpdateFlags.Exist, "noexist" => UpdateFlags.NoExist, _ => UpdateFlags.Any };
                    into = null;
                    continue;
            }
            if (into is null)
                throw new UsageException($"unexpected word {i + 1} '{w}': expected {(wantsValue ? "key, value or any|exist|noexist" : "key")}");
            into.Add(ParseByte(w, part, into.Count));
        }
        if (!sawKey || key.Count == 0) throw new UsageException("missing 'key BYTES...' (e.g. key 01 00 00 00)");
        if (wantsValue && (!sawValue || value.Count == 0)) throw new UsageException("missing 'value BYTES...' (e.g. value 2a 00 00 00)");
        return new Parsed(key.ToArray(), wantsValue ? value.ToArray() : null, flags);
    }

    private static byte ParseByte(string word, string part, int index)
    {
        var s = word.AsSpan();
        if (s.StartsWith("0x", StringComparison.OrdinalIgnoreCase)) s = s[2..];
        if (s.Length is < 1 or > 2 || !byte.TryParse(s, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte b))
            throw new UsageException($"{part} byte {index + 1} '{word}' is not a hex byte (00..ff)");
        return b;
    }

    private static void CheckSize(string part, byte[] bytes, int size)
    {
        if (bytes.Length != size) throw new UsageException($"the map's {part} is {size} bytes, {bytes.Length} given");
    }

    internal static BpfMap OpenMap(string map)
    {
        if (uint.TryParse(map, NumberStyles.None, CultureInfo.InvariantCulture, out uint id)) return MapCommands.Open(id);
        if (!map.StartsWith('/')) throw new UsageException($"'{map}' is neither a map id nor an absolute bpffs path");
        try
        {
            return BpfMap.FromPinned(map);
        }
        catch (BpfException e) when (e.Errno == Interop.Errno.ENOENT)
        {
            throw new InvalidOperationException($"nothing is pinned at {map}", e);
        }
    }

    private static int Lookup(BpfMap m, Parsed p, bool json)
    {
        var value = new byte[m.ValueBufferSize];
        if (!m.TryLookupSafe(p.Key, value, out bool found))
            throw new InvalidOperationException($"map {m.Id} ({MapCommands.TypeName(m.Type)}) values cannot be read from user space");
        if (!found) throw new KeyNotFoundException($"map {m.Id}: key {Common.Hex(p.Key)} not found");
        var btf = MapBtf.Read(m);
        if (json) Common.WriteJson(w => MapCommands.WriteEntryJson(w, m, btf, p.Key, value));
        else MapCommands.WriteEntryText(m, btf, p.Key, value);
        return 0;
    }

    private static int Update(BpfMap m, Parsed p, bool json)
    {
        byte[] value = p.Value!;
        if (BpfMap.IsPerCpu(m.Type) && value.Length == m.ValueSize)
        {
            // one value for every CPU, as bpftool does
            var all = new byte[m.ValueBufferSize];
            int stride = (int)BpfMap.Align8(m.ValueSize);
            for (int cpu = 0; cpu < Platform.PossibleCpus; cpu++) value.CopyTo(all, cpu * stride);
            value = all;
        }
        else if (value.Length != m.ValueBufferSize)
        {
            throw new UsageException(BpfMap.IsPerCpu(m.Type)
                ? $"the map's value is {m.ValueSize} bytes (or {m.ValueBufferSize} for all {Platform.PossibleCpus} CPUs), {value.Length} given"
                : $"the map's value is {m.ValueSize} bytes, {value.Length} given");
        }
        try
        {
            m.Update(p.Key, value, p.Flags);
        }
        catch (BpfException e) when (e.Errno == Interop.Errno.EEXIST)
        {
            throw new InvalidOperationException($"map {m.Id}: key {Common.Hex(p.Key)} already exists (noexist)", e);
        }
        catch (BpfException e) when (e.Errno == Interop.Errno.ENOENT && p.Flags == UpdateFlags.Exist)
        {
            throw new KeyNotFoundException($"map {m.Id}: key {Common.Hex(p.Key)} not found (exist)");
        }
        if (!json) Output.Writer.WriteLine($"updated map {m.Id} ({m.Name})");
        return 0;
    }

    private static int Delete(BpfMap m, Parsed p, bool json)
    {
        if (!m.Delete(p.Key)) throw new KeyNotFoundException($"map {m.Id}: key {Common.Hex(p.Key)} not found");
        if (!json) Output.Writer.WriteLine($"deleted the key from map {m.Id} ({m.Name})");
        return 0;
    }

    private static Command BuildCreate()
    {
        var path = new Argument<string>("path") { Description = "Where to pin the new map in bpffs (it lives as long as the pin)" };
        var type = new Option<string>("--type") { Required = true, Description = "Map type as 'map list' shows it: hash, array, percpu_hash, lru_hash, ..." };
        var key = new Option<uint>("--key") { Required = true, Description = "Key size in bytes" };
        var value = new Option<uint>("--value") { Required = true, Description = "Value size in bytes" };
        var entries = new Option<uint>("--entries") { Required = true, Description = "max_entries" };
        var name = new Option<string>("--name") { Description = "Map name (up to 15 characters)", DefaultValueFactory = _ => "" };
        var flags = new Option<uint>("--flags") { Description = "map_flags (e.g. 1 for BPF_F_NO_PREALLOC)" };
        var json = Common.JsonOption();
        var create = new Command("create", "Create a map and pin it: map create PATH --type hash --key 4 --value 8 --entries 16")
            { path, type, key, value, entries, name, flags, json };
        create.SetAction(p =>
        {
            string t = p.GetValue(type)!;
            var mapType = ParseType(t);
            var spec = new MapSpec
            {
                Name = p.GetValue(name)!, Type = mapType, KeySize = p.GetValue(key), ValueSize = p.GetValue(value),
                MaxEntries = p.GetValue(entries), Flags = (MapFlags)p.GetValue(flags),
            };
            string where = p.GetValue(path)!;
            using var m = BpfMap.Create(spec);
            m.Pin(where);
            if (p.GetValue(json)) Common.WriteJson(w => { w.WriteStartObject(); w.WriteNumber("id", m.Id); w.WriteString("pinned", where); w.WriteEndObject(); });
            else Output.Writer.WriteLine($"created map {m.Id} ({MapCommands.TypeName(mapType)}) pinned at {where}");
            return 0;
        });
        return create;
    }

    private static MapType ParseType(string name)
    {
        foreach (var t in Enum.GetValues<MapType>())
            if (MapCommands.TypeName(t) == name) return t;
        var known = Enum.GetValues<MapType>().Where(t => t != 0).Select(MapCommands.TypeName).Where(n => !n.StartsWith("type ", StringComparison.Ordinal));
        throw new UsageException($"unknown map type '{name}' (one of: {string.Join(", ", known)})");
    }

    private static Command BuildPin()
    {
        var id = Common.IdArgument("map");
        var path = new Argument<string>("path") { Description = "Where to pin it, in bpffs (e.g. /sys/fs/bpf/mymap)" };
        var pin = new Command("pin", "Pin a map in bpffs") { id, path };
        pin.SetAction(p =>
        {
            using var m = MapCommands.Open(p.GetValue(id));
            m.Pin(p.GetValue(path)!);
            Output.Writer.WriteLine($"pinned map {m.Id} ({m.Name}) at {p.GetValue(path)}");
            return 0;
        });
        return pin;
    }
}
