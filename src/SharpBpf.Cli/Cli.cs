using System.CommandLine;
using SharpBpf.Cli.Commands;
using Spectre.Console;

namespace SharpBpf.Cli;

/// <summary>Entry point of the <c>sharpbpf</c> tool: builds the command tree and maps errors to exit codes
/// (2: bad arguments, 1: the operation failed, 0: success). Never prints a stack trace.</summary>
public static class Cli
{
    public const int ExitOk = 0, ExitFailure = 1, ExitUsage = 2;

    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("sharpbpf: inspect and use eBPF programs, maps and links (pure .NET, no libbpf)");
        root.Subcommands.Add(FeaturesCommand.Build());
        root.Subcommands.Add(ProgCommands.Build());
        root.Subcommands.Add(MapCommands.Build());
        root.Subcommands.Add(AsmCommands.BuildAsm());
        root.Subcommands.Add(AsmCommands.BuildDisasm());
        root.Subcommands.Add(ConformanceCommand.Build());
        root.Subcommands.Add(ObjCommands.Build());
        root.Subcommands.Add(BtfCommands.Build());
        root.Subcommands.Add(LinkCommands.Build());
        root.Subcommands.Add(PerfCommands.Build());
        root.Subcommands.Add(TopCommand.Build());
        root.Subcommands.Add(TestRunCommand.Build());
        root.Subcommands.Add(TraceLogCommand.Build());
        root.Subcommands.Add(NetCommands.Build());
        root.Subcommands.Add(CgroupCommands.Build());
        root.Subcommands.Add(AgentCommand.Build());
        foreach (var tool in Tools.ToolCommands.Build()) root.Subcommands.Add(tool);
        return root;
    }

    public static int Run(string[] args, TextWriter? stdout = null, TextWriter? stderr = null)
    {
        stdout ??= Console.Out;
        stderr ??= Console.Error;
        var root = BuildRoot();
        var config = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false };
        ParseResult parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            // Prefer the error naming the offending token over "Required command was not provided".
            var error = parse.Errors.FirstOrDefault(e => e.Message.StartsWith("Unrecognized", StringComparison.Ordinal)) ?? parse.Errors[0];
            string path = CommandPath(parse);
            stderr.WriteLine($"sharpbpf: error: {error.Message} (see 'sharpbpf {(path.Length > 0 ? path + " " : "")}--help')");
            return ExitUsage;
        }
        try
        {
            Output.Configure(stdout);
            return parse.Invoke(config);
        }
        catch (UsageException e)
        {
            stderr.WriteLine($"sharpbpf: error: {e.Message}");
            return ExitUsage;
        }
        catch (Exception e) when (e is BpfException or KeyNotFoundException or IOException or UnauthorizedAccessException
                                      or InvalidOperationException or NotSupportedByKernelException or ArgumentException)
        {
            stderr.WriteLine($"sharpbpf: error: {e.Message}");
            return ExitFailure;
        }
    }

    private static string CommandPath(ParseResult parse)
    {
        var names = new List<string>();
        for (var r = parse.CommandResult; r is not null; r = r.Parent as System.CommandLine.Parsing.CommandResult)
            if (r.Command is not RootCommand) names.Insert(0, r.Command.Name);
        return string.Join(' ', names);
    }
}

/// <summary>A bad argument found after parsing (e.g. an id that is not a number): exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>Where commands write: a Spectre console over the chosen writer, wide when not a terminal.</summary>
internal static class Output
{
    public static IAnsiConsole Console { get; private set; } = AnsiConsole.Console;
    public static TextWriter Writer { get; private set; } = System.Console.Out;

    public static void Configure(TextWriter writer)
    {
        Writer = writer;
        bool terminal = ReferenceEquals(writer, System.Console.Out) && !System.Console.IsOutputRedirected;
        Console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });
        if (!terminal) Console.Profile.Width = 240;
    }
}
