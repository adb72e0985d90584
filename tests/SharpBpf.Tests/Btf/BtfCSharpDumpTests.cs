using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using SharpBpf.Btf;

namespace SharpBpf.Tests.Btf;

/// <summary>
/// <see cref="BtfCSharpDump"/>: the generated C# compiles (Roslyn, in memory) and, loaded, has the kernel's layout:
/// every struct's size and every member's offset as the running kernel's BTF says (walked here independently,
/// anonymous members flattened as C names them), bitfields reading the right bits.
/// </summary>
public class BtfCSharpDumpTests
{
    private static readonly string[] Roots =
        ["task_struct", "sk_buff", "sock", "iphdr", "tcphdr", "ipv6hdr", "trace_event_raw_sys_enter", "bpf_attr", "file", "pt_regs", "bpf_prog_info", "perf_event_attr"];

    private static Assembly Compile(string source, string name)
    {
        var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Select(p => MetadataReference.CreateFromFile(p));
        var compilation = CSharpCompilation.Create(name, [CSharpSyntaxTree.ParseText(source, new CSharpParseOptions(LanguageVersion.Latest))], references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Disable));
        using var pe = new MemoryStream();
        var result = compilation.Emit(pe);
        var errors = result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(result.Success, $"{errors.Count} compile errors, first: {string.Join("\n", errors.Take(5))}");
        return Assembly.Load(pe.ToArray());
    }

    private static string Generate(BtfSpec spec, IReadOnlyCollection<string>? types)
    {
        var writer = new StringWriter();
        BtfCSharpDump.Write(spec, writer, types, "Generated");
        return writer.ToString();
    }

    /// <summary>Member name → byte offset of the non-bitfield members of <paramref name="c"/>, with anonymous struct
    /// and union members' members in place (C's naming), first occurrence of a name kept.</summary>
    private static void ExpectedOffsets(BtfSpec spec, BtfComposite c, long baseBits, Dictionary<string, long> into)
    {
        foreach (var m in c.Members)
        {
            var t = spec.Resolve(m.Type);
            if (m.Name.Length == 0 && t is BtfComposite inner) ExpectedOffsets(spec, inner, baseBits + m.BitOffset, into);
            else if (m.Name.Length > 0 && m.BitfieldSize == 0 && !(t is BtfArray a && spec.SizeOf(a) == 0) && !(t is BtfComposite { Size: 0 }))
                into.TryAdd(m.Name, (baseBits + m.BitOffset) / 8);
        }
    }

    private static int SizeOf(Type t) =>
        (int)typeof(Unsafe).GetMethod(nameof(Unsafe.SizeOf))!.MakeGenericMethod(t).Invoke(null, null)!;

    [Fact]
    public void KernelStructsHaveTheKernelsSizesAndOffsets()
    {
        var spec = BtfSpec.Parse(KernelBtfBlob.Copy());
        var assembly = Compile(Generate(spec, Roots), "KernelBindings");
        int checkedTypes = 0, checkedMembers = 0;
        foreach (string root in Roots)
            Assert.NotNull(assembly.GetType("Generated." + root));
        foreach (var type in assembly.GetTypes().Where(t => t.IsValueType && !t.IsEnum && t.Namespace == "Generated"))
        {
            if (type.GetCustomAttribute<InlineArrayAttribute>() is not null) continue;
            // named kernel types only: made-up names of anonymous types (OWNER_MEMBER) are checked through their owner
            var btf = spec.TypesByName(type.Name).OfType<BtfComposite>().FirstOrDefault();
            if (btf is null) continue;
            Assert.True(SizeOf(type) == (int)btf.Size, $"sizeof({type.Name}) = {SizeOf(type)}, BTF says {btf.Size}");
            var expected = new Dictionary<string, long>(StringComparer.Ordinal);
            ExpectedOffsets(spec, btf, 0, expected);
            foreach (var (member, offset) in expected)
            {
                var field = type.GetField(member, BindingFlags.Public | BindingFlags.Instance);
                Assert.True(field is not null, $"{type.Name} has no field {member}");
                Assert.True(Marshal.OffsetOf(type, member) == offset, $"offsetof({type.Name}, {member}) = {Marshal.OffsetOf(type, member)}, BTF says {offset}");
                checkedMembers++;
            }
            checkedTypes++;
        }
        Assert.True(checkedTypes > 50 && checkedMembers > 500, $"{checkedTypes} types, {checkedMembers} members checked");
    }

    private static object FromBytes(Type type, byte[] bytes)
    {
        var buffer = Marshal.AllocHGlobal(bytes.Length);
        try
        {
            Marshal.Copy(bytes, 0, buffer, bytes.Length);
            return Marshal.PtrToStructure(buffer, type)!;
        }
        finally
        {
            Marshal.FreeHGlobal(buffer);
        }
    }

    private static object Get(object value, string property) => value.GetType().GetProperty(property)!.GetValue(value)!;

    [Fact]
    public void BitfieldsReadTheirBits()
    {
        var spec = BtfSpec.Parse(KernelBtfBlob.Copy());
        var assembly = Compile(Generate(spec, ["iphdr", "tcphdr"]), "HeaderBindings");
        var ip = new byte[20];
        ip[0] = 0x45; // version 4, ihl 5 (little-endian bitfields: ihl is the low nibble)
        ip[9] = 6;
        object iphdr = FromBytes(assembly.GetType("Generated.iphdr")!, ip);
        Assert.Equal((byte)5, Get(iphdr, "ihl"));
        Assert.Equal((byte)4, Get(iphdr, "version"));
        Assert.Equal((byte)6, iphdr.GetType().GetField("protocol")!.GetValue(iphdr));
        var tcp = new byte[20];
        tcp[12] = 0x50; // doff 5 in the high nibble
        tcp[13] = 0x12; // SYN (bit 1) and ACK (bit 4)
        object tcphdr = FromBytes(assembly.GetType("Generated.tcphdr")!, tcp);
        Assert.Equal(5, Convert.ToInt32(Get(tcphdr, "doff")));
        Assert.Equal(1, Convert.ToInt32(Get(tcphdr, "syn")));
        Assert.Equal(1, Convert.ToInt32(Get(tcphdr, "ack")));
        Assert.Equal(0, Convert.ToInt32(Get(tcphdr, "fin")));
        Assert.Equal(0, Convert.ToInt32(Get(tcphdr, "rst")));
    }

    [Fact]
    public void EveryKernelTypeCompiles()
    {
        var spec = BtfSpec.Parse(KernelBtfBlob.Copy());
        string source = Generate(spec, null);
        var assembly = Compile(source, "AllKernelBindings");
        int structs = spec.Types.Count(t => t is BtfComposite && t.Name.Length > 0);
        Assert.True(assembly.GetTypes().Length >= structs, $"{assembly.GetTypes().Length} types for {structs} named structs and unions");
    }

    [Fact]
    public void EnumsKeepTheirValuesAndSize()
    {
        var spec = BtfSpec.Parse(KernelBtfBlob.Copy());
        var assembly = Compile(Generate(spec, ["bpf_cmd", "bpf_map_type"]), "EnumBindings");
        var cmd = assembly.GetType("Generated.bpf_cmd")!;
        var btf = spec.TypesByName("bpf_cmd").OfType<BtfEnum>().Single();
        Assert.Equal(SizeOf(cmd), (int)btf.Size);
        foreach (var v in btf.Values)
            Assert.Equal(v.Value, Convert.ToInt64(Enum.Parse(cmd, v.Name), System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void UnknownTypeNameIsAnError()
    {
        var spec = BtfSpec.Parse(KernelBtfBlob.Copy());
        var e = Assert.Throws<KeyNotFoundException>(() => BtfCSharpDump.Write(spec, TextWriter.Null, ["no_such_struct_xyz"]));
        Assert.Contains("no_such_struct_xyz", e.Message);
    }
}
