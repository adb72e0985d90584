using System.Text;
using System.Text.Json;
using SharpBpf.Btf;
using SharpBpf.Internal;
using SharpBpf.Maps;

namespace SharpBpf.Cli.Commands;

/// <summary>A map's key and value BTF types (btf_key_type_id / btf_value_type_id from map info, resolved in the
/// BTF object btf_id), ready to format entries.</summary>
internal sealed class MapBtf
{
    private readonly BtfValueFormatter _formatter;

    private MapBtf(BtfValueFormatter formatter, uint keyTypeId, uint valueTypeId)
    {
        _formatter = formatter;
        KeyTypeId = keyTypeId;
        ValueTypeId = valueTypeId;
    }

    /// <summary>0 when the key has no BTF type (e.g. global-data maps).</summary>
    public uint KeyTypeId { get; }

    /// <summary>0 when the value has no BTF type.</summary>
    public uint ValueTypeId { get; }

    /// <summary>The map's BTF, or null when it has none (or its BTF cannot be read or parsed: then hex is printed).</summary>
    public static MapBtf? Read(BpfMap map)
    {
        var info = map.GetInfo();
        if (info.BtfId == 0 || (info.BtfKeyTypeId == 0 && info.BtfValueTypeId == 0)) return null;
        try
        {
            using var handle = BtfHandle.FromId(info.BtfId);
            return new MapBtf(new BtfValueFormatter(handle.ReadSpec()), info.BtfKeyTypeId, info.BtfValueTypeId);
        }
        catch (Exception e) when (e is BpfException or BtfFormatException)
        {
            return null;
        }
    }

    /// <summary>bpftool's "formatted" object: {"key": ..., "value": ...} or, per CPU, {"key": ..., "values":
    /// [{"cpu": N, "value": ...}]}; sides without a BTF type are left out. False when the data does not fit the types.</summary>
    public bool TryFormat(byte[] key, byte[]? value, bool perCpu, int stride, int valueSize, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? json)
    {
        json = null;
        try
        {
            using var stream = new MemoryStream();
            using (var w = new Utf8JsonWriter(stream))
            {
                w.WriteStartObject();
                if (KeyTypeId != 0)
                {
                    w.WritePropertyName("key");
                    _formatter.Write(w, KeyTypeId, key);
                }
                if (ValueTypeId != 0 && value is not null)
                {
                    if (!perCpu)
                    {
                        w.WritePropertyName("value");
                        _formatter.Write(w, ValueTypeId, value);
                    }
                    else
                    {
                        w.WriteStartArray("values");
                        for (int cpu = 0; cpu < Platform.PossibleCpus; cpu++)
                        {
                            w.WriteStartObject();
                            w.WriteNumber("cpu", cpu);
                            w.WritePropertyName("value");
                            _formatter.Write(w, ValueTypeId, value.AsSpan(cpu * stride, valueSize));
                            w.WriteEndObject();
                        }
                        w.WriteEndArray();
                    }
                }
                w.WriteEndObject();
            }
            json = Encoding.UTF8.GetString(stream.ToArray());
            return true;
        }
        catch (Exception e) when (e is BtfValueException or BtfFormatException or ArgumentException or KeyNotFoundException)
        {
            return false;
        }
    }

    /// <summary>The key as compact JSON through its type, or null (no type, or it does not fit).</summary>
    public string? KeyText(byte[] key) => Text(KeyTypeId, key);

    /// <summary>One value (one CPU's for per-CPU maps) as compact JSON through its type, or null.</summary>
    public string? ValueText(byte[] value) => Text(ValueTypeId, value);

    private string? Text(uint typeId, byte[] data)
    {
        if (typeId == 0) return null;
        try
        {
            return _formatter.Format(typeId, data);
        }
        catch (Exception e) when (e is BtfValueException or BtfFormatException or ArgumentException or KeyNotFoundException)
        {
            return null;
        }
    }
}
