using SharpBpf.Btf;
using SharpBpf.Interop;

namespace SharpBpf.Features;

/// <summary>Optional BTF kinds a kernel may lack; see <see cref="KernelFeatures.Btf(BtfFeature)"/>.</summary>
public enum BtfFeature
{
    /// <summary>BPF_BTF_LOAD at all (INT, PTR, STRUCT, ...; Linux 4.18).</summary>
    Load,
    /// <summary>FUNC and FUNC_PROTO (Linux 5.0).</summary>
    Func,
    /// <summary>FUNC with global linkage (Linux 5.6).</summary>
    FuncGlobal,
    /// <summary>VAR and DATASEC (Linux 5.2).</summary>
    Datasec,
    /// <summary>FLOAT (Linux 5.13).</summary>
    Float,
    /// <summary>DECL_TAG (Linux 5.16).</summary>
    DeclTag,
    /// <summary>TYPE_TAG (Linux 5.17).</summary>
    TypeTag,
    /// <summary>ENUM64 (Linux 6.0).</summary>
    Enum64,
}

public static partial class KernelFeatures
{
    private static readonly Dictionary<BtfFeature, FeatureStatus> BtfCache = [];

    /// <summary>Whether the kernel accepts a tiny BTF using <paramref name="feature"/> (BPF_BTF_LOAD, as libbpf probes).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not a defined <see cref="BtfFeature"/>.</exception>
    public static FeatureStatus Btf(BtfFeature feature)
    {
        if (!Enum.IsDefined(feature)) throw new ArgumentOutOfRangeException(nameof(feature), feature, "not a BTF feature");
        lock (Gate)
        {
            if (BtfCache.TryGetValue(feature, out var cached)) return cached;
            var status = ProbeBtf(feature);
            BtfCache[feature] = status;
            return status;
        }
    }

    /// <summary>The BTF kinds the running kernel accepts, for <see cref="BtfWriter.Sanitize"/>.</summary>
    public static BtfKernelSupport BtfSupport() => new()
    {
        Func = Btf(BtfFeature.Func).IsSupported,
        FuncGlobal = Btf(BtfFeature.FuncGlobal).IsSupported,
        Datasec = Btf(BtfFeature.Datasec).IsSupported,
        Float = Btf(BtfFeature.Float).IsSupported,
        DeclTag = Btf(BtfFeature.DeclTag).IsSupported,
        TypeTag = Btf(BtfFeature.TypeTag).IsSupported,
        Enum64 = Btf(BtfFeature.Enum64).IsSupported,
    };

    /// <summary>The probe blob for a feature (public for tests through InternalsVisibleTo).</summary>
    internal static byte[] BtfProbeBlob(BtfFeature feature)
    {
        var w = new BtfWriter();
        uint i32 = w.AddType(BtfKind.Int, "int", 4, 0, false, (1u << 24) | 32); // [1] signed 32-bit int
        switch (feature)
        {
            case BtfFeature.Load:
                w.AddType(BtfKind.Pointer, "", i32);
                break;
            case BtfFeature.Func or BtfFeature.FuncGlobal:
            {
                uint proto = w.AddType(BtfKind.FuncProto, "", i32, 1, false, w.AddString("x"), i32);
                w.AddType(BtfKind.Func, "probe_fn", proto, (int)(feature == BtfFeature.Func ? BtfFuncLinkage.Static : BtfFuncLinkage.Global));
                break;
            }
            case BtfFeature.Datasec:
            {
                uint v = w.AddType(BtfKind.Var, "probe_var", i32, 0, false, (uint)BtfVarLinkage.GlobalAllocated);
                w.AddType(BtfKind.Datasec, ".data", 4, 1, false, v, 0, 4);
                break;
            }
            case BtfFeature.Float:
                w.AddType(BtfKind.Float, "float", 4);
                break;
            case BtfFeature.DeclTag:
            {
                uint v = w.AddType(BtfKind.Var, "probe_var", i32, 0, false, (uint)BtfVarLinkage.GlobalAllocated);
                w.AddType(BtfKind.DeclTag, "tag", v, 0, false, unchecked((uint)-1));
                break;
            }
            case BtfFeature.TypeTag:
            {
                uint tag = w.AddType(BtfKind.TypeTag, "tag", i32);
                w.AddType(BtfKind.Pointer, "", tag);
                break;
            }
            case BtfFeature.Enum64:
                w.AddType(BtfKind.Enum64, "probe_enum", 8, 1, false, w.AddString("E"), 0, 1);
                break;
        }
        return w.ToArray();
    }

    private static FeatureStatus ProbeBtf(BtfFeature feature)
    {
        using var fd = BtfHandle.TryLoadRaw(BtfProbeBlob(feature), out int errno, out string log);
        return fd is not null ? FeatureStatus.Supported : ProbeKit.Failure($"BPF_BTF_LOAD with {feature}", errno, ProbeKit.LastLine(log));
    }
}
