namespace SharpBpf.Tests;

public class SmokeTests
{
    [Fact]
    public void ErrnoNames() => Assert.Equal("EPERM", Interop.Errno.Name(1));
}
