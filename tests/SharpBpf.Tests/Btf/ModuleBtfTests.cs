using System.Buffers.Binary;
using System.Text;
using SharpBpf.Btf;

namespace SharpBpf.Tests.Btf;

/// <summary>Attach targets in module BTF: split BTF on top of the running kernel's vmlinux BTF, built by hand.</summary>
public class ModuleBtfTests
{
    private static BtfSpec Kernel => BtfSpec.Kernel;

    private static (int At, int Length) BaseStrings()
    {
        var raw = Kernel.RawData.Span;
        int hdr = (int)BinaryPrimitives.ReadUInt32LittleEndian(raw[4..]);
        return (hdr + (int)BinaryPrimitives.ReadUInt32LittleEndian(raw[16..]), (int)BinaryPrimitives.ReadUInt32LittleEndian(raw[20..]));
    }

    /// <summary>Offset of <paramref name="name"/> in the kernel's string section.</summary>
    private static uint BaseStringOffset(string name)
    {
        var (at, length) = BaseStrings();
        var strings = Kernel.RawData.Span.Slice(at, length);
        int i = strings.IndexOf(Encoding.UTF8.GetBytes("\0" + name + "\0"));
        Assert.True(i >= 0, $"kernel BTF strings lack {name}");
        return (uint)i + 1;
    }

    private static uint Info(BtfKind kind, int vlen = 0) => ((uint)kind << 24) | (uint)vlen;

    /// <summary>func_proto(void), FUNC sb_module_func (module string), struct with one member, typedef vfs_read
    /// (a base string, as deduplicated module BTF reuses vmlinux's strings).</summary>
    private static byte[] Split(Action<List<uint>>? tamper = null, int? typeLenOverride = null)
    {
        uint baseStrLen = (uint)BaseStrings().Length;
        uint first = Kernel.MaxTypeId + 1;
        var words = new List<uint>
        {
            0, Info(BtfKind.FuncProto, 1), 0, 0, 0,            // id first: void (*)(void)
            baseStrLen + 1, Info(BtfKind.Func), first,         // id first+1
            0, Info(BtfKind.Struct, 1), 4, 0, 0, 0,            // id first+2
            BaseStringOffset("vfs_read"), Info(BtfKind.Typedef), 0, // id first+3
        };
        tamper?.Invoke(words);
        byte[] strings = Encoding.UTF8.GetBytes("\0sb_module_func\0");
        int typeLen = words.Count * 4;
        var blob = new byte[24 + typeLen + strings.Length];
        BinaryPrimitives.WriteUInt16LittleEndian(blob, BtfSpec.Magic);
        blob[2] = 1;
        BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(4), 24);
        BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(8), 0);
        BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(12), (uint)(typeLenOverride ?? typeLen));
        BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(16), (uint)typeLen);
        BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(20), (uint)strings.Length);
        for (int i = 0; i < words.Count; i++) BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(24 + 4 * i), words[i]);
        strings.CopyTo(blob, 24 + typeLen);
        return blob;
    }

    [Fact]
    public void FindsTypesByModuleAndBaseStringsWithIdsAfterVmlinux()
    {
        if (!File.Exists("/sys/kernel/btf/vmlinux")) Assert.Skip("no kernel BTF");
        uint first = Kernel.MaxTypeId + 1;
        var blob = Split();
        Assert.Equal(first + 1, ModuleBtf.FindInSplit(blob, Kernel, "sb_module_func", BtfKind.Func));
        Assert.Equal(first + 3, ModuleBtf.FindInSplit(blob, Kernel, "vfs_read", BtfKind.Typedef));
        Assert.Equal(0u, ModuleBtf.FindInSplit(blob, Kernel, "vfs_read", BtfKind.Func)); // vmlinux's own FUNC is not in the split part
        Assert.Equal(0u, ModuleBtf.FindInSplit(blob, Kernel, "sb_module_fun", BtfKind.Func));
    }

    [Fact]
    public void MalformedSplitBtfIsABtfFormatException()
    {
        if (!File.Exists("/sys/kernel/btf/vmlinux")) Assert.Skip("no kernel BTF");
        var e = Assert.Throws<BtfFormatException>(() => ModuleBtf.FindInSplit(Split(typeLenOverride: 4096), Kernel, "x", BtfKind.Func));
        Assert.Contains("type section", e.Message);
        e = Assert.Throws<BtfFormatException>(() => ModuleBtf.FindInSplit(Split(w => w[1] = 31u << 24), Kernel, "x", BtfKind.Func));
        Assert.Contains("known type kind", e.Message);
        e = Assert.Throws<BtfFormatException>(() => ModuleBtf.FindInSplit(Split(w => w[5] = 0x7fff_0000), Kernel, "sb_module_func", BtfKind.Func));
        Assert.Contains("name offset", e.Message);
        e = Assert.Throws<BtfFormatException>(() => ModuleBtf.FindInSplit(Split(w => w[9] = Info(BtfKind.Struct, 50)), Kernel, "x", BtfKind.Func));
        Assert.Contains("record boundary", e.Message); // the struct's members run past the type section
        Assert.Throws<BtfFormatException>(() => ModuleBtf.FindInSplit(new byte[10], Kernel, "x", BtfKind.Func));
    }

    [Fact]
    public void ModulesOfTheRunningKernelDoNotHoldVmlinuxFunctions()
    {
        if (!File.Exists("/sys/kernel/btf/vmlinux")) Assert.Skip("no kernel BTF");
        // Walks every /sys/kernel/btf/<module> present (none on a kernel without modules): all parse, none has vfs_read.
        Assert.False(ModuleBtf.TryFind(Kernel, "vfs_read", BtfKind.Func, out _, out _));
    }
}
