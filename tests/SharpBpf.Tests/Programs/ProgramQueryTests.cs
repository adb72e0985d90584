using System.Runtime.InteropServices;
using SharpBpf.Links;
using SharpBpf.Programs;
using SharpBpf.TestUtilities;
using static SharpBpf.Tests.Programs.Insn;

namespace SharpBpf.Tests.Programs;

[Collection(KernelCollection.Name)]
public class ProgramQueryTests
{
    private const string Cgroup2Root = "/sys/fs/cgroup/unified";

    [DllImport("libc", SetLastError = true)]
    private static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc")]
    private static extern int close(int fd);

    private static int OpenDir(string path)
    {
        int fd = open(path, 0);
        Assert.True(fd >= 0, $"open({path}) failed: errno {Marshal.GetLastPInvokeError()}");
        return fd;
    }

    [Fact]
    public void CgroupQueryListsAttachedAndInheritedPrograms()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        string root = File.Exists("/sys/fs/cgroup/cgroup.controllers") ? "/sys/fs/cgroup" : Cgroup2Root;
        Assert.True(File.Exists($"{root}/cgroup.procs"), $"no cgroup2 hierarchy at {root}");
        string parent = $"{root}/sharpbpf-test-{Guid.NewGuid():N}";
        string child = $"{parent}/child";
        Directory.CreateDirectory(child);
        int parentFd = -1, childFd = -1;
        try
        {
            parentFd = OpenDir(parent);
            childFd = OpenDir(child);
            using var prog = BpfProgram.Load(new ProgramSpec
            {
                Name = "sb_cg_skb", Type = ProgramType.CgroupSkb, License = "GPL",
                ExpectedAttachType = AttachType.CgroupInetIngress,
                Instructions = [Mov64Imm(R0, 1), Exit()],
            });
            Assert.Empty(BpfProgram.QueryAttached(parentFd, AttachType.CgroupInetIngress).ProgramIds);
            using (var link = BpfLink.Create(prog, (uint)parentFd, AttachType.CgroupInetIngress, 0, "to a test cgroup"))
            {
                Assert.Equal(LinkType.Cgroup, link.Type);
                var direct = BpfProgram.QueryAttached(parentFd, AttachType.CgroupInetIngress);
                Assert.Equal([prog.Id], direct.ProgramIds);
                Assert.Empty(BpfProgram.QueryAttached(parentFd, AttachType.CgroupInetEgress).ProgramIds);
                Assert.Empty(BpfProgram.QueryAttached(childFd, AttachType.CgroupInetIngress).ProgramIds);
                Assert.Equal([prog.Id], BpfProgram.QueryAttached(childFd, AttachType.CgroupInetIngress, effective: true).ProgramIds);
            }
            Assert.Empty(BpfProgram.QueryAttached(parentFd, AttachType.CgroupInetIngress).ProgramIds);

            var bad = Assert.Throws<BpfException>(() => BpfProgram.QueryAttached(parentFd, (AttachType)999));
            Assert.Contains("BPF_PROG_QUERY", bad.Message);
            Assert.Throws<ArgumentOutOfRangeException>(() => BpfProgram.QueryAttached(-1, AttachType.CgroupInetIngress));
        }
        finally
        {
            if (childFd >= 0) close(childFd);
            if (parentFd >= 0) close(parentFd);
            Directory.Delete(child);
            Directory.Delete(parent);
        }
    }
}
