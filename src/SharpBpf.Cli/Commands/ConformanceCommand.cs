using System.CommandLine;
using SharpBpf.Asm;
using SharpBpf.Asm.Conformance;
using Spectre.Console;

namespace SharpBpf.Cli.Commands;

/// <summary>
/// <c>sharpbpf conformance --backend kernel|interp|jit [MEMHEX]</c>: a bpf_conformance plugin (program hex on stdin, memory hex
/// as the argument, r0 in hex on stdout; exit 1 with the reason on stdout when the backend refuses the program).
/// <c>sharpbpf conformance run DIR</c>: runs every <c>.data</c> file and prints a table.
/// </summary>
internal static class ConformanceCommand
{
    public static Command Build()
    {
        var memory = new Argument<string?>("memory") { Description = "Input memory as hex bytes (\"01 02 ...\"); absent: none", Arity = ArgumentArity.ZeroOrOne };
        var backend = BackendOption();
        var cmd = new Command("conformance", "Run eBPF conformance programs (bpf_conformance plugin protocol on stdin/stdout)") { memory, backend };
        cmd.SetAction(p => Plugin(p.GetValue(memory), p.GetValue(backend)!));

        var dir = new Argument<string>("dir") { Description = "Directory of bpf_conformance .data files" };
        var runBackend = BackendOption();
        var json = Common.JsonOption();
        var run = new Command("run", "Run every .data file of a directory and print a pass/fail table") { dir, runBackend, json };
        run.SetAction(p => RunDirectory(p.GetRequiredValue(dir), p.GetValue(runBackend)!, p.GetValue(json)));
        cmd.Subcommands.Add(run);
        return cmd;
    }

    private static Option<string> BackendOption()
    {
        var o = new Option<string>("--backend", "-b") { Description = "Where programs run", DefaultValueFactory = _ => "kernel" };
        o.AcceptOnlyFromAmong("kernel", "interp", "jit");
        return o;
    }

    private static IConformanceBackend CreateBackend(string name) => name switch
    {
        "kernel" => new KernelConformanceBackend(),
        "interp" or "jit" => new SharpBpf.Vm.Conformance.VmConformanceBackend(name == "jit" ? SharpBpf.Vm.VmEngine.Jit : SharpBpf.Vm.VmEngine.Interpreter),
        _ => throw new UsageException($"unknown backend '{name}'"),
    };

    private static int Plugin(string? memoryHex, string backendName)
    {
        var backend = CreateBackend(backendName);
        using var owned = backend as IDisposable;
        byte[] memory = memoryHex is null ? [] : AsmCommands.ParseHex(memoryHex, "memory");
        byte[] program = AsmCommands.ParseHex(Console.In.ReadToEnd(), "program");
        if (program.Length == 0 || program.Length % Instruction.Size != 0)
        {
            Output.Writer.WriteLine($"program is {program.Length} bytes, not a non-zero multiple of {Instruction.Size}");
            return Cli.ExitFailure;
        }
        var outcome = backend.Run(Instruction.DecodeAll(program), memory);
        if (!outcome.Ran)
        {
            Output.Writer.WriteLine($"rejected by {backend.Name}: {outcome.Rejection}");
            return Cli.ExitFailure;
        }
        Output.Writer.WriteLine(outcome.R0.ToString("x"));
        return 0;
    }

    private static int RunDirectory(string dir, string backendName, bool json)
    {
        var backend = CreateBackend(backendName);
        using var owned = backend as IDisposable;
        var results = ConformanceRunner.RunDirectory(dir, backend);
        int pass = results.Count(r => r.Status == ConformanceStatus.Pass);
        int fail = results.Count(r => r.Status == ConformanceStatus.Fail);
        int rejected = results.Count(r => r.Status == ConformanceStatus.Rejected);
        int errors = results.Count(r => r.Status == ConformanceStatus.Error);
        if (json)
        {
            Common.WriteJson(w =>
            {
                w.WriteStartObject();
                w.WriteString("backend", backendName);
                if (backend is SharpBpf.Vm.Conformance.VmConformanceBackend { Note: { } note }) w.WriteString("note", note);
                w.WriteNumber("passed", pass);
                w.WriteNumber("failed", fail);
                w.WriteNumber("rejected", rejected);
                w.WriteNumber("errors", errors);
                w.WriteStartArray("tests");
                foreach (var r in results)
                {
                    w.WriteStartObject();
                    w.WriteString("name", r.Name);
                    w.WriteString("status", r.Status.ToString().ToLowerInvariant());
                    if (r.Expected is { } e) w.WriteString("expected", $"0x{e:x}");
                    if (r.Actual is { } a) w.WriteString("actual", $"0x{a:x}");
                    if (r.Message is not null) w.WriteString("message", r.Message);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            });
        }
        else
        {
            var table = new Table().AddColumns("TEST", "RESULT", "EXPECTED", "ACTUAL", "NOTE");
            foreach (var r in results)
                table.AddRow(Markup.Escape(r.Name), r.Status.ToString().ToUpperInvariant(),
                    r.Expected is { } e ? $"0x{e:x}" : "", r.Actual is { } a ? $"0x{a:x}" : "", Markup.Escape(r.Message ?? ""));
            Output.Console.Write(table);
            if (backend is SharpBpf.Vm.Conformance.VmConformanceBackend { Note: { } note }) Output.Writer.WriteLine($"note: {note}");
            Output.Writer.WriteLine($"{pass} passed, {fail} failed, {rejected} rejected by the {backendName} backend, {errors} errors ({results.Count} files)");
        }
        return fail + errors == 0 ? 0 : Cli.ExitFailure;
    }
}
