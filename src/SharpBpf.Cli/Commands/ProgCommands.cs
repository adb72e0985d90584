using System.CommandLine;

namespace SharpBpf.Cli.Commands;

internal static class ProgCommands
{
    public static Command Build() => new("prog", "Inspect BPF programs loaded in the kernel");
}
