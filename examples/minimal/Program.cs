// minimal: load a tracepoint program, tell it our pid, attach it, then write() a few times and read what the
// program printed (bpf_printk) from trace_pipe. Usage: minimal [COUNT]
using SharpBpf;
using SharpBpf.Elf;
using SharpBpf.Events;

int count = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 3;
var spec = ElfReader.ReadFile(Path.Combine(AppContext.BaseDirectory, "minimal.bpf.o"));
spec.SetVariable("my_pid", Environment.ProcessId);
using var collection = BpfCollection.Load(spec);
using var links = collection.AttachAll(); // tracepoint/syscalls/sys_enter_write, from the section name
using var pipe = TracePipeReader.Open();
Console.WriteLine($"Attached; PID {Environment.ProcessId} writes {count} times:");
int seen = 0;
var deadline = DateTime.UtcNow.AddSeconds(10);
for (int i = 0; seen < count && DateTime.UtcNow < deadline; i++)
{
    if (i < count) Console.Error.Write('.'); // a write() the program sees
    while (seen < count && pipe.TryReadLine(out string? line, 200))
    {
        if (!line.Contains($"BPF triggered from PID {Environment.ProcessId}.", StringComparison.Ordinal)) continue;
        Console.WriteLine(line.Trim());
        seen++;
    }
}
Console.Error.WriteLine();
Console.WriteLine(seen == count ? $"saw {seen} writes" : $"saw only {seen} of {count} writes");
return seen == count ? 0 : 1;
