using System.CommandLine;
using System.Reflection;
using SharpBpf.Elf;
using SharpBpf.Events;
using SharpBpf.Links;
using SharpBpf.Maps;
using SharpBpf.Programs;

namespace SharpBpf.Cli.Tools;

/// <summary>How a tool with two variants attaches.</summary>
internal enum ProbeVariant
{
    Auto,
    Kprobe,
    Tracepoint,
}

/// <summary>
/// One run of a ready tool: its BPF object (embedded in this assembly, built from Tools/bpf/*.bpf.c by clang-14),
/// loaded with the tool's settings, plus every link it attached. Disposing detaches all links, then unloads the
/// programs and maps: a tool leaves nothing behind in the kernel, whichever way it ends.
/// </summary>
internal sealed class ToolSession : IDisposable
{
    private readonly List<IDisposable> _attachments = [];
    private bool _disposed;

    private ToolSession(string tool, BpfCollection collection)
    {
        Tool = tool;
        Collection = collection;
    }

    public string Tool { get; }

    public BpfCollection Collection { get; }

    /// <summary>Reads the embedded object of <paramref name="tool"/>.</summary>
    public static CollectionSpec ReadSpec(string tool)
    {
        string resource = $"tools/{tool}.bpf.o";
        using var stream = typeof(ToolSession).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"the BPF object of tool '{tool}' is missing from {typeof(ToolSession).Assembly.GetName().Name} (resource {resource})");
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return ElfReader.Read(bytes, tool);
    }

    /// <summary>Loads <paramref name="tool"/>'s object after <paramref name="configure"/> set its constants.</summary>
    public static ToolSession Load(string tool, Action<CollectionSpec>? configure = null)
    {
        var spec = ReadSpec(tool);
        configure?.Invoke(spec);
        BpfCollection collection;
        try
        {
            collection = BpfCollection.Load(spec);
        }
        catch (CollectionLoadException e)
        {
            string detail = e.InnerException is BpfVerifierException v ? v.ToString() : e.InnerException?.Message ?? "";
            throw new InvalidOperationException($"{tool}: {e.Kind} '{e.Name}' failed to load: {detail}", e);
        }
        return new ToolSession(tool, collection);
    }

    public BpfProgram Program(string name) =>
        Collection.Programs.TryGetValue(name, out var p) ? p : throw new InvalidOperationException($"{Tool}: the object has no program '{name}'");

    public BpfMap Map(string name) =>
        Collection.Maps.TryGetValue(name, out var m) ? m : throw new InvalidOperationException($"{Tool}: the object has no map '{name}'");

    /// <summary>Keeps <paramref name="attachment"/> until the session ends (disposed first, in reverse order).</summary>
    public T Keep<T>(T attachment) where T : IDisposable
    {
        _attachments.Add(attachment);
        return attachment;
    }

    public TracepointLink AttachTracepoint(string program, string category, string name) =>
        Keep(TracepointLink.Attach(Program(program), category, name));

    public RawTracepointLink AttachRawTracepoint(string program, string name) =>
        Keep(RawTracepointLink.Attach(Program(program), name));

    public KprobeLink AttachKprobe(string program, string function, bool isReturn = false) =>
        Keep(KprobeLink.Attach(Program(program), function, new KprobeOptions { Return = isReturn }));

    /// <summary>
    /// Which variant of a tool with both runs: <see cref="ProbeVariant.Auto"/> takes the kprobe variant where the
    /// kernel can attach kprobes (as the BCC/libbpf-tools originals do) and the tracepoint variant elsewhere; asking
    /// for kprobes on a kernel without them is an error that says why.
    /// </summary>
    public static ProbeVariant ChooseVariant(string tool, ProbeVariant requested)
    {
        if (requested == ProbeVariant.Tracepoint) return requested;
        var kprobes = Features.KernelFeatures.Attach("kprobe-attach");
        if (kprobes.IsSupported) return ProbeVariant.Kprobe;
        if (requested == ProbeVariant.Kprobe) throw new InvalidOperationException($"{tool}: --attach kprobe: {kprobes.Reason}");
        return ProbeVariant.Tracepoint;
    }

    /// <summary>The <c>--attach</c> option of tools with a tracepoint and a kprobe variant.</summary>
    public static Option<ProbeVariant> VariantOption() => new("--attach")
    {
        Description = "Attach through kprobes or the tracepoint (auto: kprobes where the kernel has them)",
        DefaultValueFactory = _ => ProbeVariant.Auto,
        CustomParser = r =>
        {
            switch (r.Tokens.Single().Value)
            {
                case "auto": return ProbeVariant.Auto;
                case "kprobe": return ProbeVariant.Kprobe;
                case "tracepoint": return ProbeVariant.Tracepoint;
                case var v:
                    r.AddError($"--attach: expected auto, kprobe or tracepoint, got '{v}'");
                    return ProbeVariant.Auto;
            }
        },
    };

    /// <summary>A reader of ring buffer <paramref name="map"/> that reports the records the programs counted as
    /// dropped in the per-CPU array <c>drops</c> (when the object has one).</summary>
    public RingBufferReader RingBuffer(string map = "events")
    {
        var ring = new RingBufMap(Map(map));
        PerCpuArrayMap<ulong>? drops = Collection.Maps.TryGetValue("drops", out var d) ? new PerCpuArrayMap<ulong>(d) : null;
        return Keep(new RingBufferReader(ring, drops));
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        for (int i = _attachments.Count - 1; i >= 0; i--) _attachments[i].Dispose();
        Collection.Dispose();
    }
}
