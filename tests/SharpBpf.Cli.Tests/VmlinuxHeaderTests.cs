using System.Diagnostics;
using System.Text;
using SharpBpf.Btf;
using SharpBpf.TestUtilities;

namespace SharpBpf.Cli.Tests;

/// <summary><c>sharpbpf btf dump --kernel --format c</c> is a vmlinux.h: clang-14 compiles a libbpf-style CO-RE
/// program against it (same code as against bpftool's), and every named struct/union has the size and member
/// offsets the kernel BTF says (checked with _Static_asserts computed from the BTF, not from the header).</summary>
[Collection(KernelCollection.Name)]
public class VmlinuxHeaderTests
{
    private const string Program = """
        #include "vmlinux.h"
        #include <bpf/bpf_helpers.h>
        #include <bpf/bpf_core_read.h>
        #include <bpf/bpf_tracing.h>

        struct {
            __uint(type, BPF_MAP_TYPE_RINGBUF);
            __uint(max_entries, 4096);
        } events SEC(".maps");

        struct event { int pid; int ppid; char comm[16]; unsigned long flags; };

        SEC("tp_btf/sched_process_exec")
        int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
        {
            struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
            if (!e)
                return 0;
            e->pid = BPF_CORE_READ(p, tgid);
            e->ppid = BPF_CORE_READ(p, real_parent, tgid);
            e->flags = BPF_CORE_READ(p, flags);
            if (bpf_core_field_exists(p->mm))
                bpf_core_read_str(e->comm, sizeof(e->comm), &p->comm);
            bpf_ringbuf_submit(e, 0);
            return 0;
        }

        SEC("xdp")
        int xdp_len(struct xdp_md *ctx)
        {
            return ctx->data_end - ctx->data > (int)bpf_core_type_size(struct ethhdr) ? XDP_PASS : XDP_DROP;
        }

        char LICENSE[] SEC("license") = "GPL";
        """;

    private static (int Code, string Output) Run(string file, string args, string dir)
    {
        var psi = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = dir };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result + stderr);
    }

    private static string Compile(string dir, string header, string source, string obj)
    {
        File.WriteAllText(Path.Combine(dir, "vmlinux.h"), header);
        File.WriteAllText(Path.Combine(dir, "prog.bpf.c"), source);
        var (code, output) = Run("clang-14", $"-target bpf -O2 -g -D__TARGET_ARCH_x86 -I. -I/usr/include/x86_64-linux-gnu -c prog.bpf.c -o {obj}", dir);
        Assert.True(code == 0, "clang-14 failed: " + string.Join('\n', output.Split('\n').Take(20)));
        return Run("llvm-objdump-14", $"-d --no-show-raw-insn {obj}", dir).Output.Replace(obj, "OBJ");
    }

    [Fact]
    public void ClangCompilesALibbpfStyleProgramAgainstItLikeAgainstBpftools()
    {
        KernelTest.Require();
        string dir = Directory.CreateTempSubdirectory("sharpbpf-vmlinux-").FullName;
        try
        {
            var ours = CliRunner.Run("btf", "dump", "--kernel", "--format", "c");
            Assert.Equal(0, ours.ExitCode);
            string oursCode = Compile(dir, ours.Stdout, Program, "ours.o");
            string bpftoolCode = Compile(dir, BpftoolCrossCheckTests.Bpftool("btf", "dump", "file", "/sys/kernel/btf/vmlinux", "format", "c"), Program, "bpftool.o");
            Assert.Equal(bpftoolCode, oursCode);
            Assert.Contains("r0 = 2", oursCode); // XDP_PASS: the program really was compiled
            // The object loads with our loader (CO-RE relocations aside, the layout is the running kernel's).
            var spec = SharpBpf.Elf.ElfReader.ReadFile(Path.Combine(dir, "ours.o"));
            Assert.Equal(["on_exec", "xdp_len"], spec.Programs.Keys.Order());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void EveryStructHasTheKernelsSizeAndMemberOffsets()
    {
        KernelTest.Require();
        var kernel = BtfSpec.LoadKernel();
        // Tags that appear once among structs, unions and enums (one C tag namespace; clashing ones are renamed ___N
        // in the header, as bpftool does).
        var counts = kernel.Types.Where(t => t is BtfComposite or BtfEnum && t.Name.Length > 0)
            .GroupBy(t => t.Name).ToDictionary(g => g.Key, g => g.Count());
        var sb = new StringBuilder("#include \"vmlinux.h\"\n");
        int asserts = 0;
        foreach (var t in kernel.Types.OfType<BtfComposite>())
        {
            if (t.Name.Length == 0 || counts[t.Name] != 1) continue;
            // va_list is 24 bytes on x86-64 but a pointer for -target bpf: structs holding one differ in both headers.
            if (t.Members.Any(m => m.Type is BtfTypedef { Name: "va_list" or "__builtin_va_list" or "__gnuc_va_list" })) continue;
            string tag = (t is BtfStruct ? "struct " : "union ") + t.Name;
            sb.Append("_Static_assert(sizeof(").Append(tag).Append(") == ").Append(t.Size).Append(", \"").Append(tag).Append("\");\n");
            asserts++;
            foreach (var m in t.Members)
            {
                if (m.Name.Length == 0 || m.BitfieldSize != 0) continue;
                sb.Append("_Static_assert(__builtin_offsetof(").Append(tag).Append(", ").Append(m.Name).Append(") == ").Append(m.BitOffset / 8)
                    .Append(", \"").Append(tag).Append('.').Append(m.Name).Append("\");\n");
                asserts++;
            }
        }
        Assert.True(asserts > 50_000, $"only {asserts} checks");
        string dir = Directory.CreateTempSubdirectory("sharpbpf-vmlinux-").FullName;
        try
        {
            var ours = CliRunner.Run("btf", "dump", "--kernel", "--format", "c");
            File.WriteAllText(Path.Combine(dir, "vmlinux.h"), ours.Stdout);
            File.WriteAllText(Path.Combine(dir, "layout.c"), sb.ToString());
            var (code, output) = Run("clang-14", "-target bpf -fsyntax-only -ferror-limit=20 -I. layout.c", dir);
            Assert.True(code == 0, "layout checks failed: " + string.Join('\n', output.Split('\n').Take(30)));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
