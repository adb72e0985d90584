using System.Diagnostics;

namespace SharpBpf.Tests.Links;

/// <summary>Runs the gcc-built probe targets (<see cref="ProbeTarget"/>, <see cref="UsdtTarget"/>): they take their
/// arguments, optionally block on a line of stdin ("wait"), and print one line of space-separated numbers.</summary>
internal static class TargetProcess
{
    /// <summary>Starts <paramref name="path"/>; with <paramref name="wait"/> it blocks until <see cref="Release"/>.</summary>
    public static Process Start(string path, bool wait, params string[] args)
    {
        var psi = new ProcessStartInfo(path) { RedirectStandardOutput = true, RedirectStandardInput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (wait) psi.ArgumentList.Add("wait");
        return Process.Start(psi)!;
    }

    public static void Release(Process p)
    {
        p.StandardInput.WriteLine("go");
        p.StandardInput.Flush();
    }

    /// <summary>Waits for the exit (code 0 required) and returns the printed numbers.</summary>
    public static string[] Finish(Process p, string what)
    {
        string output = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(30_000)) throw new TimeoutException($"{what} did not exit");
        if (p.ExitCode != 0) throw new InvalidOperationException($"{what} exited with {p.ExitCode}");
        return output.Trim().Split(' ');
    }
}
