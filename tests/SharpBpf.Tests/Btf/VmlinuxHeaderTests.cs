using System.Security.Cryptography;
using SharpBpf.Btf;
using SharpBpf.Tests.Elf;

namespace SharpBpf.Tests.Btf;

/// <summary>testdata/vmlinux.h (what the testdata programs that need kernel types include) is our own C dump of the
/// kernel BTF whose SHA-256 is recorded in testdata/vmlinux.h.btf-sha256: on that kernel the dumper regenerates it
/// byte for byte.</summary>
public class VmlinuxHeaderTests
{
    [Fact]
    public void CheckedInHeaderIsOurDumpOfTheRecordedKernelBtf()
    {
        const string path = "/sys/kernel/btf/vmlinux";
        if (!File.Exists(path)) Assert.Skip("no kernel BTF");
        var raw = File.ReadAllBytes(path);
        string recorded = File.ReadAllText(TestData.PathOf("vmlinux.h.btf-sha256")).Trim();
        if (Convert.ToHexStringLower(SHA256.HashData(raw)) != recorded)
            Assert.Skip($"the running kernel's BTF is not the one testdata/vmlinux.h was generated from (sha256 {recorded})");
        var w = new StringWriter { NewLine = "\n" };
        BtfCDump.Write(BtfSpec.Parse(raw), w);
        string expected = File.ReadAllText(TestData.PathOf("vmlinux.h"));
        Assert.True(expected == w.ToString(), "testdata/vmlinux.h differs from 'sharpbpf btf dump --kernel --format c'");
    }
}
