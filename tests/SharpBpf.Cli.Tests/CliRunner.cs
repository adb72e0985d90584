namespace SharpBpf.Cli.Tests;

internal sealed record CliResult(int ExitCode, string Stdout, string Stderr);

internal static class CliRunner
{
    public static CliResult Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int rc = SharpBpf.Cli.Cli.Run(args, stdout, stderr);
        return new CliResult(rc, stdout.ToString(), stderr.ToString());
    }
}
