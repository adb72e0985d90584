using System.CommandLine;

namespace SharpBpf.Cli.Commands;

internal static class FeaturesCommand
{
    public static Command Build() => new("features", "Probe which BPF features the running kernel supports");
}
