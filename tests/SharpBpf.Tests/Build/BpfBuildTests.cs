using System.Diagnostics;
using SharpBpf.Elf;
using SharpBpf.TestUtilities;

namespace SharpBpf.Tests.Build;

/// <summary>
/// SharpBpf.Build's MSBuild targets in a real <c>dotnet build</c> of a fresh project: a <c>BpfSource</c> item is
/// compiled by clang against a vmlinux.h our dumper generated, the object lands next to the app and loads into the
/// kernel; an unchanged second build runs no clang; clang's errors come out as MSBuild errors with file(line,col).
/// </summary>
[Collection(KernelCollection.Name)]
public class BpfBuildTests
{
    private const string Probe = """
        #include "vmlinux.h"
        #include <bpf/bpf_helpers.h>
        #include <bpf/bpf_core_read.h>

        SEC("tracepoint/syscalls/sys_enter_execve")
        int on_exec(void *ctx)
        {
        	struct task_struct *t = (void *)bpf_get_current_task();
        	return BPF_CORE_READ(t, tgid) > 0;
        }
        char LICENSE[] SEC("license") = "GPL";

        """;

    private static (int ExitCode, string Output) Build(string dir, params string[] extra) =>
        Dotnet(dir, ["build", "-v:n", "-nologo", "--disable-build-servers", .. extra]);

    private static (int ExitCode, string Output) Dotnet(string dir, string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        // a private package cache: the package under test is rebuilt with the same version every run
        psi.Environment["NUGET_PACKAGES"] = Path.Combine(dir, ".packages");
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(300_000), "dotnet build did not finish in 5 minutes");
        stderr.Wait();
        return (p.ExitCode, stdout + stderr.Result);
    }

    [Fact]
    public void BpfSourceCompilesIncrementallyAndReportsClangErrors()
    {
        KernelTest.Require();
        string dir = Directory.CreateTempSubdirectory("sharpbpf-build-").FullName;
        try
        {
            // the package as users get it: packed from the test's own build of SharpBpf.Build, restored from a local feed
            string feed = Path.Combine(dir, "feed");
            var pack = Dotnet(dir, ["pack", Path.Combine(TestData.RepositoryRoot, "src", "SharpBpf.Build"), "-c", "Debug", "--no-build", "-o", feed]);
            Assert.True(pack.ExitCode == 0, pack.Output);
            File.WriteAllText(Path.Combine(dir, "nuget.config"), $"""
                <configuration>
                  <packageSources>
                    <clear />
                    <add key="local" value="{feed}" />
                  </packageSources>
                </configuration>
                """);
            File.WriteAllText(Path.Combine(dir, "app.csproj"), """
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                  </PropertyGroup>
                  <ItemGroup>
                    <PackageReference Include="SharpBpf.Build" Version="0.1.0" />
                    <BpfSource Include="probe.bpf.c" />
                  </ItemGroup>
                </Project>
                """);
            File.WriteAllText(Path.Combine(dir, "Program.cs"), "System.Console.WriteLine(\"app\");\n");
            string source = Path.Combine(dir, "probe.bpf.c");
            File.WriteAllText(source, Probe);

            var first = Build(dir);
            Assert.True(first.ExitCode == 0, first.Output);
            Assert.Contains("SharpBpf: compiling probe.bpf.c", first.Output);
            string header = Path.Combine(dir, "obj", "Debug", "net10.0", "bpf", "include", "vmlinux.h");
            Assert.StartsWith("#ifndef __VMLINUX_H__", File.ReadAllText(header));
            string obj = Path.Combine(dir, "bin", "Debug", "net10.0", "probe.bpf.o");
            Assert.True(File.Exists(obj), "the object is copied next to the app");
            using (var leak = new FdLeakCheck())
            using (var collection = BpfCollection.Load(ElfReader.ReadFile(obj)))
                Assert.True(collection.Programs.ContainsKey("on_exec"), "the built object loads (with its CO-RE read of task_struct)");

            var second = Build(dir);
            Assert.True(second.ExitCode == 0, second.Output);
            Assert.DoesNotContain("SharpBpf: compiling", second.Output);
            Assert.Contains("Skipping target \"BpfCompile\"", second.Output);

            File.WriteAllText(source, Probe + "int broken(void) { return undeclared_thing; }\n");
            var broken = Build(dir);
            Assert.Equal(1, broken.ExitCode);
            int line = Probe.Split('\n').Length;
            Assert.Contains($"probe.bpf.c({line},27): error : use of undeclared identifier 'undeclared_thing'", broken.Output);

            File.WriteAllText(source, Probe);
            var noClang = Build(dir, "-p:BpfClang=/nonexistent/clang");
            Assert.Equal(1, noClang.ExitCode);
            Assert.Contains("error SBPF001: BpfClang '/nonexistent/clang' was not found", noClang.Output);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
