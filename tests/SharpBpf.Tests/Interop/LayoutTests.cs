using System.Runtime.InteropServices;
using SharpBpf.Btf;
using SharpBpf.Interop;
using SharpBpf.Links;
using SharpBpf.Maps;
using SharpBpf.Programs;
using SharpBpf.Tests.Btf;

namespace SharpBpf.Tests.InteropLayout; // not ".Interop": that would hide SharpBpf.Interop for code in SharpBpf.Tests

using SharpBpf.Btf;

/// <summary>
/// Every attr struct (Interop/BpfAttr.cs), info struct (Interop/BpfInfo.cs) and uapi enum must equal the running
/// kernel's definition in /sys/kernel/btf/vmlinux: struct size, and each C# field's offset and size by name.
/// </summary>
public class LayoutTests
{
    private static readonly Lazy<BtfSpec> Kernel = new(() => BtfSpec.Parse(KernelBtfBlob.Copy()));

    /// <summary>C# attr struct → how to find its <c>union bpf_attr</c> member: a member name, or for anonymous
    /// members "contains:field[+field]".</summary>
    private static readonly Dictionary<string, (Type Type, string Selector)> AttrStructs = new()
    {
        ["MapCreateAttr"] = (typeof(MapCreateAttr), "contains:map_type"),
        ["MapElemAttr"] = (typeof(MapElemAttr), "contains:map_fd+key"),
        ["MapBatchAttr"] = (typeof(MapBatchAttr), "batch"),
        ["ProgLoadAttr"] = (typeof(ProgLoadAttr), "contains:prog_type"),
        ["ObjPinAttr"] = (typeof(ObjPinAttr), "contains:pathname"),
        ["ProgAttachAttr"] = (typeof(ProgAttachAttr), "contains:attach_bpf_fd"),
        ["TestRunAttr"] = (typeof(TestRunAttr), "test"),
        ["GetIdAttr"] = (typeof(GetIdAttr), "contains:start_id"),
        ["InfoByFdAttr"] = (typeof(InfoByFdAttr), "info"),
        ["ProgQueryAttr"] = (typeof(ProgQueryAttr), "query"),
        ["RawTracepointOpenAttr"] = (typeof(RawTracepointOpenAttr), "raw_tracepoint"),
        ["BtfLoadAttr"] = (typeof(BtfLoadAttr), "contains:btf_log_buf"),
        ["TaskFdQueryAttr"] = (typeof(TaskFdQueryAttr), "task_fd_query"),
        ["LinkCreateAttr"] = (typeof(LinkCreateAttr), "link_create"),
        ["LinkUpdateAttr"] = (typeof(LinkUpdateAttr), "link_update"),
        ["LinkDetachAttr"] = (typeof(LinkDetachAttr), "link_detach"),
        ["EnableStatsAttr"] = (typeof(EnableStatsAttr), "enable_stats"),
        ["IterCreateAttr"] = (typeof(IterCreateAttr), "iter_create"),
        ["ProgBindMapAttr"] = (typeof(ProgBindMapAttr), "prog_bind_map"),
    };

    /// <summary>Info structs and other kernel structs the interop declares (perf_event_attr).</summary>
    private static readonly Dictionary<string, (Type Type, string Struct)> InfoStructs = new()
    {
        ["BpfProgInfo"] = (typeof(BpfProgInfo), "bpf_prog_info"),
        ["BpfMapInfo"] = (typeof(BpfMapInfo), "bpf_map_info"),
        ["BpfBtfInfo"] = (typeof(BpfBtfInfo), "bpf_btf_info"),
        ["BpfLinkInfo"] = (typeof(BpfLinkInfo), "bpf_link_info"),
        ["BpfIterLinkInfo"] = (typeof(BpfIterLinkInfo), "bpf_iter_link_info"),
        ["PerfEventAttr"] = (typeof(PerfEventAttr), "perf_event_attr"),
    };

    public static TheoryData<string> AttrNames => new(AttrStructs.Keys);

    public static TheoryData<string> InfoNames => new(InfoStructs.Keys);

    [Fact]
    public void EveryAttrAndInfoStructIsCovered()
    {
        var interop = typeof(Bpf).Assembly.GetTypes()
            .Where(t => t.Namespace == "SharpBpf.Interop" && t.IsValueType && !t.IsEnum && !t.IsNested
                        && (t.Name.EndsWith("Attr", StringComparison.Ordinal) || t.Name.EndsWith("Info", StringComparison.Ordinal))
                        && (t.Name.StartsWith("Bpf", StringComparison.Ordinal) == t.Name.EndsWith("Info", StringComparison.Ordinal) || t.Name.StartsWith("Perf", StringComparison.Ordinal)))
            .Select(t => t.Name).Order().ToList();
        Assert.Equal(AttrStructs.Keys.Concat(InfoStructs.Keys).Order(), interop);
    }

    [Theory]
    [MemberData(nameof(AttrNames))]
    public void AttrStructMatchesKernel(string name)
    {
        var btf = Kernel.Value;
        var (type, selector) = AttrStructs[name];
        var member = FindAttrMember(btf, selector);
        Assert.Empty(LayoutComparison.Compare(type, btf, member));
    }

    [Theory]
    [MemberData(nameof(InfoNames))]
    public void InfoStructMatchesKernel(string name)
    {
        var btf = Kernel.Value;
        var (type, structName) = InfoStructs[name];
        Assert.Empty(LayoutComparison.Compare(type, btf, btf.TypeByName<BtfComposite>(structName)));
    }

    private static BtfComposite FindAttrMember(BtfSpec btf, string selector)
    {
        var attr = btf.TypeByName<BtfUnion>("bpf_attr");
        if (!selector.StartsWith("contains:", StringComparison.Ordinal))
        {
            var named = attr.FindMember(selector) ?? throw new Xunit.Sdk.XunitException($"union bpf_attr has no member '{selector}'");
            return Assert.IsAssignableFrom<BtfComposite>(btf.Resolve(named.Type));
        }
        var wanted = selector["contains:".Length..].Split('+');
        var matches = attr.Members
            .Where(m => m.Name.Length == 0)
            .Select(m => btf.Resolve(m.Type))
            .OfType<BtfComposite>()
            .Where(c => wanted.All(w => LayoutComparison.Flatten(btf, c).ContainsKey(w)))
            .ToList();
        return Assert.Single(matches);
    }

    [Fact]
    public void ComparisonCatchesWrongOffsetSizeAndName()
    {
        var btf = Kernel.Value;
        var elem = FindAttrMember(btf, "contains:map_fd+key");
        Assert.Empty(LayoutComparison.Compare(typeof(MapElemAttr), btf, elem));

        var problems = LayoutComparison.Compare(typeof(WrongMapElemAttr), btf, elem);
        Assert.Contains(problems, p => p.StartsWith("WrongMapElemAttr.key: offset 4 size 8", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("WrongMapElemAttr.value: offset 16 size 4", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("WrongMapElemAttr.not_in_kernel: no such member", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("WrongMapElemAttr: size 40", StringComparison.Ordinal));
        Assert.DoesNotContain(problems, p => p.Contains(".map_fd", StringComparison.Ordinal) || p.Contains(".flags", StringComparison.Ordinal));
    }

    [StructLayout(LayoutKind.Explicit, Size = 40)]
    private struct WrongMapElemAttr
    {
        [FieldOffset(0)] public uint map_fd;
        [FieldOffset(4)] public ulong key;          // kernel: offset 8
        [FieldOffset(16)] public uint value;        // kernel: 8 bytes
        [FieldOffset(24)] public ulong flags;
        [FieldOffset(32)] public ulong not_in_kernel;
    }

    [Fact]
    public void BitfieldIsComparedAsItsContainingUnit()
    {
        var btf = Kernel.Value;
        var flat = LayoutComparison.Flatten(btf, btf.TypeByName<BtfStruct>("bpf_prog_info"));
        var gpl = Assert.Single(flat["gpl_compatible"]);
        Assert.Equal(Marshal.OffsetOf<BpfProgInfo>(nameof(BpfProgInfo.gpl_compatible)).ToInt64(), gpl.Offset);
        Assert.Equal(4, gpl.Size);
    }

    [Fact]
    public void BpfCmdMatchesKernel() => AssertEnumMatches<BpfCmd>("bpf_cmd", "", "__MAX_BPF_CMD");

    [Fact]
    public void MapTypeMatchesKernel() => AssertEnumMatches<MapType>("bpf_map_type", "BPF_MAP_TYPE_", "__MAX_BPF_MAP_TYPE");

    [Fact]
    public void ProgramTypeMatchesKernel() => AssertEnumMatches<ProgramType>("bpf_prog_type", "BPF_PROG_TYPE_", "__MAX_BPF_PROG_TYPE");

    [Fact]
    public void AttachTypeMatchesKernel() => AssertEnumMatches<AttachType>("bpf_attach_type", "BPF_", "__MAX_BPF_ATTACH_TYPE");

    [Fact]
    public void LinkTypeMatchesKernel() => AssertEnumMatches<LinkType>("bpf_link_type", "BPF_LINK_TYPE_", "__MAX_BPF_LINK_TYPE");

    /// <summary>C# names whose letters differ from the kernel's besides case and underscores.</summary>
    private static readonly Dictionary<string, string> NameExceptions = new()
    {
        ["Unspecified"] = "UNSPEC",
        ["ProgramArray"] = "PROG_ARRAY",
    };

    private static string Normalize(string s) => s.Replace("_", "", StringComparison.Ordinal).ToUpperInvariant();

    /// <summary>Every C# member names a kernel enumerator (PascalCase ↔ UPPER_SNAKE after the prefix) with the same
    /// value, and every kernel value except the __MAX_ sentinel has a C# member.</summary>
    private static void AssertEnumMatches<T>(string kernelEnum, string prefix, string max) where T : struct, Enum
    {
        var btf = Kernel.Value;
        var kernel = btf.TypeByName<BtfEnum>(kernelEnum);
        var byName = kernel.Values.Where(v => v.Name != max)
            .ToDictionary(v => Normalize(v.Name.StartsWith(prefix, StringComparison.Ordinal) ? v.Name[prefix.Length..] : v.Name), v => v.Value);
        var problems = new List<string>();
        foreach (var name in Enum.GetNames<T>())
        {
            long value = Convert.ToInt64(Enum.Parse<T>(name), System.Globalization.CultureInfo.InvariantCulture);
            string key = Normalize(NameExceptions.GetValueOrDefault(name, name));
            if (!byName.TryGetValue(key, out long kernelValue)) problems.Add($"{typeof(T).Name}.{name}: no such enumerator in enum {kernelEnum}");
            else if (kernelValue != value) problems.Add($"{typeof(T).Name}.{name} = {value}, kernel says {kernelValue}");
        }
        var csValues = Enum.GetValues<T>().Select(v => Convert.ToInt64(v, System.Globalization.CultureInfo.InvariantCulture)).ToHashSet();
        foreach (var v in kernel.Values.Where(v => v.Name != max && !csValues.Contains(v.Value)))
            problems.Add($"{typeof(T).Name} lacks {v.Name} = {v.Value}");
        Assert.Empty(problems);
    }
}
