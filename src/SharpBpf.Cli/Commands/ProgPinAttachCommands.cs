using System.CommandLine;
using SharpBpf.Links;
using SharpBpf.Programs;

namespace SharpBpf.Cli.Commands;

/// <summary><c>sharpbpf prog pin ID PATH</c> and <c>sharpbpf prog attach ID KIND [TARGET] --pin PATH</c>: pin a
/// loaded program, or attach it through a link that is pinned (a link made by a command would otherwise end
/// with it).</summary>
internal static class ProgPinAttachCommands
{
    /// <summary>The attach kinds <c>prog attach</c> takes, with what TARGET means.</summary>
    internal static readonly (string Kind, string Target)[] Kinds =
    [
        ("xdp", "interface name"),
        ("tracepoint", "CATEGORY/NAME"),
        ("raw_tp", "tracepoint name"),
        ("tracing", "none: the target fixed at load (tp_btf, fentry, fexit, fmod_ret, lsm)"),
        ("iter", "none, or a map id for a map element iterator"),
    ];

    public static Command BuildPin()
    {
        var id = Common.IdArgument("prog");
        var path = new Argument<string>("path") { Description = "Where to pin it, in bpffs (e.g. /sys/fs/bpf/myprog)" };
        var pin = new Command("pin", "Pin a loaded program in bpffs") { id, path };
        pin.SetAction(p =>
        {
            using var prog = Open(p.GetValue(id));
            prog.Pin(p.GetValue(path)!);
            Output.Writer.WriteLine($"pinned program {prog.Id} ({prog.Name}) at {p.GetValue(path)}");
            return 0;
        });
        return pin;
    }

    public static Command BuildAttach()
    {
        var id = Common.IdArgument("prog");
        var kind = new Argument<string>("kind") { Description = "One of: " + string.Join(", ", Kinds.Select(k => $"{k.Kind} ({k.Target})")) };
        var target = new Argument<string?>("target") { Arity = ArgumentArity.ZeroOrOne, Description = "Where to attach (depends on KIND)" };
        var pin = new Option<string>("--pin") { Required = true, Description = "Pin the link here in bpffs: it stays attached after the command ends (remove the pin to detach)" };
        var attach = new Command("attach", "Attach a loaded program through a BPF link and pin the link") { id, kind, target, pin };
        attach.SetAction(p => Attach(p.GetValue(id), p.GetValue(kind)!, p.GetValue(target), p.GetValue(pin)!));
        return attach;
    }

    private static BpfProgram Open(uint id)
    {
        try
        {
            return BpfProgram.FromId(id);
        }
        catch (BpfException e) when (e.Errno == Interop.Errno.ENOENT)
        {
            throw new InvalidOperationException($"no program with id {id}", e);
        }
    }

    private static int Attach(uint id, string kind, string? target, string pinPath)
    {
        string Need(string what) => string.IsNullOrEmpty(target) ? throw new UsageException($"prog attach {kind} needs a TARGET ({what})") : target;
        if (!Kinds.Any(k => k.Kind == kind))
            throw new UsageException($"unknown attach kind '{kind}' (one of: {string.Join(", ", Kinds.Select(k => k.Kind))})");
        using var prog = Open(id);
        BpfLink link;
        switch (kind)
        {
            case "xdp":
                link = XdpLink.Attach(prog, Need("interface name"));
                break;
            case "tracepoint":
                string tp = Need("CATEGORY/NAME");
                int slash = tp.IndexOf('/');
                if (slash <= 0 || slash == tp.Length - 1) throw new UsageException($"tracepoint '{tp}' is not CATEGORY/NAME");
                link = TracepointLink.Attach(prog, tp[..slash], tp[(slash + 1)..]);
                break;
            case "raw_tp":
                link = RawTracepointLink.Attach(prog, Need("tracepoint name"));
                break;
            case "tracing":
                if (target is not null) throw new UsageException("prog attach tracing takes no TARGET (the target was fixed when the program was loaded)");
                link = TracingLink.Attach(prog);
                break;
            default: // iter
                if (target is null)
                {
                    link = IterLink.Attach(prog);
                    break;
                }
                if (!uint.TryParse(target, out uint mapId)) throw new UsageException($"iter TARGET '{target}' is not a map id");
                using (var map = Maps.BpfMap.FromId(mapId))
                    link = IterLink.Attach(prog, new IterOptions { Map = map });
                break;
        }
        using (link)
        {
            link.Pin(pinPath);
            Output.Writer.WriteLine($"attached program {prog.Id} ({prog.Name}) as {link}, pinned at {pinPath}");
        }
        return 0;
    }
}
