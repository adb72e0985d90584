using SharpBpf.Btf;

namespace SharpBpf.Maps;

/// <summary>
/// What a struct_ops map (SEC(".struct_ops") or SEC(".struct_ops.link") variable) implements: the kernel struct
/// (e.g. <c>tcp_congestion_ops</c>), the object's initial bytes of it and the program behind each function pointer.
/// <see cref="BpfCollection"/> turns it into the kernel's <c>bpf_struct_ops_TYPE</c> value: fields copied by name,
/// function pointers replaced by program fds. Edit <see cref="Data"/> (e.g. a congestion control's name) before load.
/// </summary>
public sealed record class StructOpsSpec
{
    /// <summary>The kernel struct's name, e.g. <c>tcp_congestion_ops</c>.</summary>
    public string TypeName { get; set; } = "";

    /// <summary>The struct as the object defines it (layout of <see cref="Data"/>); null for a spec built by hand,
    /// in which case <see cref="Data"/> must have the kernel struct's layout.</summary>
    public BtfStruct? LocalType { get; set; }

    /// <summary>Initial bytes of the struct (function pointer slots are ignored).</summary>
    public byte[] Data { get; set; } = [];

    /// <summary>Function pointer member name → program name.</summary>
    public Dictionary<string, string> Functions { get; set; } = new(StringComparer.Ordinal);

    /// <summary>A deep copy.</summary>
    public StructOpsSpec Copy() => this with
    {
        Data = (byte[])Data.Clone(),
        Functions = new Dictionary<string, string>(Functions, StringComparer.Ordinal),
    };
}
