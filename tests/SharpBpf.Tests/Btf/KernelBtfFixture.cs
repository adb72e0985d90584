namespace SharpBpf.Tests.Btf;

/// <summary>The running kernel's BTF blob, read once for all tests that parse or mutate it.</summary>
internal static class KernelBtfBlob
{
    public const string Path = "/sys/kernel/btf/vmlinux";

    private static readonly Lazy<byte[]?> Blob = new(() => File.Exists(Path) ? File.ReadAllBytes(Path) : null);

    /// <summary>A fresh copy of the blob (tests may mutate it); skips when the kernel has no BTF.</summary>
    public static byte[] Copy()
    {
        var blob = Blob.Value;
        if (blob is null)
        {
            if (SharpBpf.TestUtilities.KernelTest.Required) Assert.Fail($"{Path} is missing");
            Assert.Skip($"{Path} is missing: no kernel BTF to parse");
        }
        return (byte[])blob.Clone();
    }
}
