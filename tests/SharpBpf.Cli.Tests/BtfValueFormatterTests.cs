using System.Text.Json;
using SharpBpf.Btf;
using SharpBpf.Cli.Commands;
using SharpBpf.Elf;

namespace SharpBpf.Cli.Tests;

/// <summary>The formatter on its own (no kernel): every type of the fixture's BTF with full, short and random data.</summary>
public class BtfValueFormatterTests
{
    private static BtfSpec Fixture() => ElfReader.ReadFile(TestObjects.PathOf("inspect.bpf.o")).Btf!;

    [Fact]
    public void ShortDataIsATypedErrorForEveryType()
    {
        var btf = Fixture();
        var f = new BtfValueFormatter(btf);
        var random = new Random(3);
        int checkedTypes = 0;
        foreach (var t in btf.Types)
        {
            if (t is BtfVoid or BtfFunc or BtfFuncProto or BtfFwd or BtfDeclTag or BtfVar or BtfDatasec) continue;
            long size = btf.SizeOf(t);
            var data = new byte[size];
            random.NextBytes(data);
            using (JsonDocument.Parse(f.Format(t.Id, data))) { } // full data: valid JSON
            if (size == 0) continue;
            var e = Assert.Throws<BtfValueException>(() => f.Format(t.Id, data.AsSpan(0, (int)size - 1)));
            Assert.Contains("needs bytes", e.Message);
            checkedTypes++;
        }
        Assert.True(checkedTypes > 10);
    }

    [Fact]
    public void UnknownTypeIdAndFunctionsAreTypedErrors()
    {
        var btf = Fixture();
        var f = new BtfValueFormatter(btf);
        Assert.Contains("no type id", Assert.Throws<BtfValueException>(() => f.Format(btf.MaxTypeId + 1, new byte[8])).Message);
        var func = btf.Types.OfType<BtfFunc>().First();
        Assert.Contains("has no value", Assert.Throws<BtfValueException>(() => f.Format(func.Id, new byte[8])).Message);
    }

    [Fact]
    public void CharArraysAreStringsOnlyWhenPrintable()
    {
        var btf = Fixture();
        var f = new BtfValueFormatter(btf);
        var value = btf.TypeByName<BtfStruct>("value");
        var comm = value.FindMember("comm")!.Type;
        Assert.Equal("\"bash\"", f.Format(comm.Id, "bash\0\0\0\0\0\0\0\0\0\0\0\0"u8));
        Assert.Equal("\"0123456789abcdef\"", f.Format(comm.Id, "0123456789abcdef"u8)); // no NUL: all 16
        var notText = new byte[16];
        notText[0] = 0x07;
        Assert.StartsWith("[7,0,0", f.Format(comm.Id, notText));
    }
}
