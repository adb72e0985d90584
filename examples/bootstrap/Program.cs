// bootstrap: exec and exit events of every process, over a ring buffer, with how long each process lived — the
// C# side of libbpf-bootstrap's bootstrap. Usage: bootstrap [--duration SECONDS] [--min-duration MS]
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using SharpBpf;
using SharpBpf.Elf;
using SharpBpf.Events;
using SharpBpf.Maps;

double seconds = double.PositiveInfinity, minMs = 0;
for (int i = 0; i + 1 < args.Length; i += 2)
{
    if (args[i] == "--duration") seconds = double.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture);
    else if (args[i] == "--min-duration") minMs = double.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture);
}

var spec = ElfReader.ReadFile(Path.Combine(AppContext.BaseDirectory, "bootstrap.bpf.o"));
spec.SetVariable("min_duration_ns", (ulong)(minMs * 1e6));
using var collection = BpfCollection.Load(spec);
using var links = collection.AttachAll(); // tp/sched/sched_process_exec and _exit
using var reader = new RingBufferReader(new RingBufMap(collection.Maps["rb"]));
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
if (!double.IsPositiveInfinity(seconds)) stop.CancelAfter(TimeSpan.FromSeconds(seconds));

Console.WriteLine($"{"TIME",-8} {"EVENT",-5} {"COMM",-16} {"PID",-7} {"PPID",-7} FILENAME/EXIT CODE");
Console.Out.Flush();
while (!stop.IsCancellationRequested)
{
    try
    {
        reader.Poll(Print, TimeSpan.FromMilliseconds(100), stop.Token);
    }
    catch (OperationCanceledException)
    {
        break;
    }
}
return 0;

static void Print(EventRecord record)
{
    ref readonly var e = ref MemoryMarshal.AsRef<Event>(record.Data);
    string time = DateTime.Now.ToString("HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture);
    string comm = CString(e.Comm);
    if (e.ExitEvent != 0)
    {
        string duration = e.DurationNs != 0 ? $" ({e.DurationNs / 1_000_000} ms)" : "";
        Console.WriteLine($"{time,-8} {"EXIT",-5} {comm,-16} {e.Pid,-7} {e.Ppid,-7} [{e.ExitCode}]{duration}");
    }
    else
    {
        Console.WriteLine($"{time,-8} {"EXEC",-5} {comm,-16} {e.Pid,-7} {e.Ppid,-7} {CString(e.Filename)}");
    }
    Console.Out.Flush();
}

static string CString(ReadOnlySpan<byte> bytes)
{
    int n = bytes.IndexOf((byte)0);
    return Encoding.UTF8.GetString(n < 0 ? bytes : bytes[..n]);
}

/// <summary>struct event of bootstrap.bpf.c (C layout: 8-byte duration after three ints).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct Event
{
    public int Pid;
    public int Ppid;
    public uint ExitCode;
    private uint _pad;
    public ulong DurationNs;
    private fixed byte _comm[16];
    private fixed byte _filename[127];
    public byte ExitEvent;

    public readonly ReadOnlySpan<byte> Comm => MemoryMarshal.CreateReadOnlySpan(ref Unsafe.AsRef(in _comm[0]), 16);

    public readonly ReadOnlySpan<byte> Filename => MemoryMarshal.CreateReadOnlySpan(ref Unsafe.AsRef(in _filename[0]), 127);
}
