using System.Buffers.Binary;
using SharpBpf.Btf;
using SharpBpf.Cli.Tools;
using SharpBpf.Maps;

namespace SharpBpf.Cli.Agent;

/// <summary>
/// One configured metric bound to a loaded map: where each label sits in the key (resolved through the object's
/// BTF: integers, enums by name, char arrays as strings) and where the number (or the log2 slot array) sits in the
/// value. <see cref="Write"/> reads the map at scrape time with batch lookups (falling back to key iteration) and
/// sums per-CPU values and series whose labels coincide.
/// </summary>
internal sealed class MapMetric
{
    /// <summary>One series: label values in the config's label order and the summed number (or slot counts).</summary>
    internal readonly record struct Series(string[] LabelValues, double[] Values);

    private enum FieldKind { Unsigned, Signed, Enum, String }

    private sealed record Field(int Offset, int Size, FieldKind Kind, LabelDecoder Decoder, BtfEnum? Enum);

    private const int BatchElements = 256;

    private readonly MetricConfig _config;
    private readonly BpfMap _map;
    private readonly Field[] _labels;
    private readonly string[] _labelNames;
    private readonly int _valueOffset, _valueSize, _slots;
    private readonly bool _valueSigned;
    private readonly int _cpus, _cpuStride;
    private byte[] _keys, _values;
    private bool _noBatch;
    private readonly Lock _lock = new();

    public MapMetric(MetricConfig config, BpfMap map, MapSpec spec, BtfSpec? btf)
    {
        _config = config;
        _map = map;
        _labelNames = [.. config.Labels.Select(l => l.Name)];
        _cpus = BpfMap.IsPerCpu(map.Type) ? map.ValueBufferSize / (int)((map.ValueSize + 7) & ~7u) : 1;
        _cpuStride = _cpus > 1 ? (int)((map.ValueSize + 7) & ~7u) : (int)map.ValueSize;
        if (map.KeySize == 0) throw Error($"map '{map.Name}' ({map.Type}) has no keys to read");
        BtfType? keyType = btf is not null && spec.BtfKeyTypeId != 0 ? btf.TypeById(spec.BtfKeyTypeId) : null;
        BtfType? valueType = btf is not null && spec.BtfValueTypeId != 0 ? btf.TypeById(spec.BtfValueTypeId) : null;
        _labels = [.. config.Labels.Select(l => Locate(keyType, (int)map.KeySize, l.Field, $"label '{l.Name}'", l.Decoder, "key"))];
        if (config.Kind == MetricKind.Histogram)
        {
            (_valueOffset, _slots) = LocateSlots(valueType, (int)map.ValueSize, config.Value);
            _valueSize = 8;
        }
        else
        {
            var v = Locate(valueType, (int)map.ValueSize, config.Value, "value", LabelDecoder.Auto, "value");
            if (v.Kind == FieldKind.String) throw Error($"the value {(config.Value is null ? "" : $"member '{config.Value}' ")}of map '{map.Name}' is not a number");
            (_valueOffset, _valueSize, _valueSigned) = (v.Offset, v.Size, v.Kind == FieldKind.Signed);
        }
        _keys = new byte[BatchElements * map.KeySize];
        _values = new byte[BatchElements * map.ValueBufferSize];
    }

    public string Name => _config.Name;

    private UsageException Error(string message) => new($"{_config.Where}: metric '{_config.Name}': {message}");

    private Field Locate(BtfType? type, int size, string? member, string what, LabelDecoder decoder, string side)
    {
        int offset = 0;
        if (member is not null)
        {
            if (type is null) throw Error($"{what}: map '{_map.Name}' has no BTF {side} type, so member '{member}' cannot be found");
            foreach (string part in member.Split('.'))
            {
                if (type.Owner.Resolve(type) is not BtfComposite c || c.FindMember(part) is not { } m)
                    throw Error($"{what}: the {side} type {type.Owner.Resolve(type)} of map '{_map.Name}' has no member '{part}'");
                if (m.BitfieldSize != 0 || m.BitOffset % 8 != 0) throw Error($"{what}: member '{part}' is a bitfield");
                offset += (int)(m.BitOffset / 8);
                type = m.Type;
            }
        }
        if (type is null)
        {
            if (size is 1 or 2 or 4 or 8) return new Field(0, size, FieldKind.Unsigned, decoder, null);
            throw Error($"{what}: map '{_map.Name}' has a {size}-byte {side} and no BTF to describe it; name a member");
        }
        var t = type.Owner.Resolve(type);
        int fieldSize = (int)type.Owner.SizeOf(t);
        Field f = t switch
        {
            BtfInt i when i.Size is 1 or 2 or 4 or 8 && i.Bits == i.Size * 8 =>
                new(offset, (int)i.Size, (i.Encoding & BtfIntEncoding.Signed) != 0 ? FieldKind.Signed : FieldKind.Unsigned, decoder, null),
            BtfEnum e when e.Size is 1 or 2 or 4 or 8 => new(offset, (int)e.Size, FieldKind.Enum, decoder, e),
            BtfArray a when type.Owner.Resolve(a.ElementType) is BtfInt { Size: 1 } => new(offset, (int)a.Count, FieldKind.String, decoder, null),
            _ => throw Error($"{what}: {(member is null ? $"the {side}" : $"member '{member}'")} is {t}; expected an integer, an enum or a char array"),
        };
        if (offset + fieldSize > size) throw Error($"{what}: member '{member}' lies outside the {size}-byte {side}");
        if (decoder == LabelDecoder.Syscall && f.Kind is FieldKind.String)
            throw Error($"{what}: the syscall decoder needs an integer, not a char array");
        return f;
    }

    private (int Offset, int Slots) LocateSlots(BtfType? type, int size, string? member)
    {
        int offset = 0;
        if (type is not null)
        {
            var t = type.Owner.Resolve(type);
            if (member is not null)
            {
                if (t is not BtfComposite c || c.FindMember(member) is not { } m)
                    throw Error($"the value type {t} of map '{_map.Name}' has no member '{member}'");
                offset = (int)(m.BitOffset / 8);
                t = type.Owner.Resolve(m.Type);
            }
            else if (t is BtfComposite { Members.Count: 1 } only)
            {
                offset = (int)(only.Members[0].BitOffset / 8);
                t = type.Owner.Resolve(only.Members[0].Type);
            }
            if (t is BtfArray a && type.Owner.Resolve(a.ElementType) is BtfInt { Size: 8 })
                return (offset, (int)a.Count);
            throw Error($"a histogram needs a value that is an array of u64 log2 slots; map '{_map.Name}' has {t}");
        }
        if (member is not null || size % 8 != 0) throw Error($"map '{_map.Name}' has no BTF value type; a histogram value must be u64 slots");
        return (0, size / 8);
    }

    /// <summary>Reads the map and writes the family.</summary>
    public void Write(Exposition output)
    {
        output.Family(_config.Name, _config.Help, _config.Kind);
        foreach (var s in Collect())
        {
            string labels = Exposition.Labels(_labelNames, s.LabelValues);
            if (_config.Kind != MetricKind.Histogram)
            {
                output.Sample(_config.Name, labels, s.Values[0] * _config.Scale);
                continue;
            }
            var bounds = new double[_slots];
            for (int i = 0; i < _slots; i++) bounds[i] = UpperBound(i);
            output.Histogram(_config.Name, labels, bounds, s.Values, EstimatedSum(s.Values));
        }
    }

    public MetricConfig Config => _config;

    public IReadOnlyList<string> LabelNames => _labelNames;

    /// <summary>Histograms: the number of log2 slots.</summary>
    public int Slots => _slots;

    /// <summary>
    /// Slot <paramref name="slot"/> of a floor-log2 histogram holds values v with 2^i &lt;= v &lt; 2^(i+1) (slot 0:
    /// 0 and 1), so every value in it is &lt;= 2^(i+1): that is the bucket's upper bound (scaled); the last slot is
    /// open-ended (+Inf).
    /// </summary>
    public double UpperBound(int slot) => slot == _slots - 1 ? double.PositiveInfinity : Math.ScaleB(1.0, slot + 1) * _config.Scale;

    /// <summary>The kernel keeps no sum: it is estimated from the buckets' midpoints (as exact as the histogram
    /// itself).</summary>
    public double EstimatedSum(ReadOnlySpan<double> counts)
    {
        double sum = 0;
        for (int i = 0; i < counts.Length; i++) sum += counts[i] * Math.ScaleB(1.5, i) * _config.Scale;
        return sum;
    }

    /// <summary>
    /// Reads the map once (thread-safe: the Prometheus endpoint and the OTLP exporter both call it): one series per
    /// distinct label set, ordered by labels, with per-CPU values and coinciding keys summed. Values are raw (not
    /// scaled): one number, or a histogram's slot counts.
    /// </summary>
    public List<Series> Collect()
    {
        lock (_lock)
        {
            Dictionary<string, Series> series;
            while (!TryCollect(out series))
            {
            }
            return [.. series.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Value)];
        }
    }

    /// <summary>One walk over the map; false when the batch buffers had to grow mid-walk (the walk is redone).</summary>
    private bool TryCollect(out Dictionary<string, Series> series)
    {
        var result = series = new Dictionary<string, Series>(StringComparer.Ordinal);
        int width = _config.Kind == MetricKind.Histogram ? _slots : 1;
        var labelValues = new string[_labels.Length];
        return ForEach((key, value) =>
        {
            for (int i = 0; i < _labels.Length; i++) labelValues[i] = Decode(_labels[i], key);
            string labels = Exposition.Labels(_labelNames, labelValues);
            if (!result.TryGetValue(labels, out var s)) result[labels] = s = new Series([.. labelValues], new double[width]);
            for (int cpu = 0; cpu < _cpus; cpu++)
            {
                var v = value.Slice(cpu * _cpuStride);
                for (int i = 0; i < width; i++) s.Values[i] += ReadNumber(v.Slice(_valueOffset + i * _valueSize, _valueSize));
            }
        });
    }

    private delegate void EntryAction(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value);

    private bool ForEach(EntryAction action)
    {
        int ks = (int)_map.KeySize, vs = _map.ValueBufferSize;
        if (!_noBatch)
        {
            var cursor = default(MapBatchCursor);
            try
            {
                int n;
                while ((n = _map.LookupBatch(ref cursor, _keys, _values)) > 0)
                    for (int i = 0; i < n; i++) action(_keys.AsSpan(i * ks, ks), _values.AsSpan(i * vs, vs));
                return true;
            }
            catch (MapBatchException e) when (e.Errno == Interop.Errno.ENOSPC && _keys.Length < 1 << 24)
            {
                // a hash bucket did not fit: grow and start over (the partial walk is discarded below)
                _keys = new byte[_keys.Length * 4];
                _values = new byte[_values.Length * 4];
                return false;
            }
            catch (MapBatchException e) when (e.Errno is Interop.Errno.EINVAL or Interop.Errno.ENOTSUPP or Interop.Errno.EOPNOTSUPP)
            {
                _noBatch = true; // map type without batch support: iterate keys
            }
        }
        var key = new byte[ks];
        var next = new byte[ks];
        var value = new byte[vs];
        bool first = true;
        while (_map.TryGetNextKey(first ? default : key, next))
        {
            first = false;
            next.CopyTo(key);
            if (_map.TryLookup(key, value)) action(key, value);
        }
        return true;
    }

    private double ReadNumber(ReadOnlySpan<byte> b) => (_valueSize, _valueSigned) switch
    {
        (1, false) => b[0],
        (1, true) => (sbyte)b[0],
        (2, false) => BinaryPrimitives.ReadUInt16LittleEndian(b),
        (2, true) => BinaryPrimitives.ReadInt16LittleEndian(b),
        (4, false) => BinaryPrimitives.ReadUInt32LittleEndian(b),
        (4, true) => BinaryPrimitives.ReadInt32LittleEndian(b),
        (_, false) => BinaryPrimitives.ReadUInt64LittleEndian(b),
        _ => BinaryPrimitives.ReadInt64LittleEndian(b),
    };

    private static string Decode(Field f, ReadOnlySpan<byte> key)
    {
        var b = key.Slice(f.Offset, f.Size);
        if (f.Kind == FieldKind.String) return ToolRunner.CString(b);
        long signedValue = f.Size switch
        {
            1 => f.Kind == FieldKind.Signed ? (sbyte)b[0] : b[0],
            2 => f.Kind == FieldKind.Signed ? BinaryPrimitives.ReadInt16LittleEndian(b) : BinaryPrimitives.ReadUInt16LittleEndian(b),
            4 => f.Kind == FieldKind.Signed ? BinaryPrimitives.ReadInt32LittleEndian(b) : BinaryPrimitives.ReadUInt32LittleEndian(b),
            _ => BinaryPrimitives.ReadInt64LittleEndian(b),
        };
        if (f.Decoder == LabelDecoder.Syscall) return SyscallNames.Name((int)signedValue);
        if (f.Enum is { } e)
        {
            foreach (var v in e.Values)
                if (v.Value == signedValue || (long)v.UnsignedValue == signedValue) return v.Name;
        }
        return f.Kind == FieldKind.Signed || f.Size < 8 ? signedValue.ToString(System.Globalization.CultureInfo.InvariantCulture)
            : ((ulong)signedValue).ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}
