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

    /// <summary><see cref="Run"/> with <paramref name="stdin"/> as standard input (process-wide: callers run in the
    /// serial CLI collection).</summary>
    public static CliResult RunWithStdin(string stdin, params string[] args)
    {
        var old = Console.In;
        Console.SetIn(new StringReader(stdin));
        try
        {
            return Run(args);
        }
        finally
        {
            Console.SetIn(old);
        }
    }
}
