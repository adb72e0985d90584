using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using SharpBpf.Maps;
using SharpBpf.Programs;
using SharpBpf.Symbols;

namespace SharpBpf.Links;

/// <summary>Options of a USDT attachment.</summary>
public sealed record UsdtOptions
{
    /// <summary>Only fire in this process; null for every process that runs the binary.</summary>
    public int? Pid { get; init; }

    /// <summary>The value the program reads with usdt.bpf.h's <c>bpf_usdt_cookie</c> (the BPF cookie itself
    /// carries the spec id, as with libbpf).</summary>
    public ulong Cookie { get; init; }
}

/// <summary>
/// A USDT probe attachment compatible with libbpf's <c>usdt.bpf.h</c> (libbpf 1.1): a program written with
/// <c>bpf_usdt_arg</c>, <c>bpf_usdt_arg_cnt</c>, <c>bpf_usdt_cookie</c> or <c>BPF_USDT</c> works unchanged.
/// Attaching writes one <c>struct __bpf_usdt_spec</c> (argument locations + cookie) per distinct argument spec into
/// the object's <c>__bpf_usdt_specs</c> array map and attaches one uprobe per probe site (a probe may be inlined
/// at several places) with the spec id as its BPF cookie and the probe's semaphore as reference counter, all or
/// nothing. Disposing detaches every site and frees the spec ids.
/// <para>The link itself is the first site's uprobe link (<see cref="BpfLink.Id"/>, <see cref="BpfLink.GetInfo()"/>,
/// <see cref="BpfObject.Pin"/> act on that one); <see cref="Sites"/> has them all. Spec ids are allocated per
/// <see cref="BpfMap"/> instance: attach through the same collection (or map object) for ids not to collide.
/// The kernel must carry BPF cookies on perf links (Linux 5.15); the <c>__bpf_usdt_ip_to_spec_id</c> fallback of
/// older kernels is not filled.</para>
/// </summary>
public sealed class UsdtLink : BpfLink
{
    /// <summary>The spec map name usdt.bpf.h declares.</summary>
    public const string SpecMapName = "__bpf_usdt_specs";

    /// <summary>sizeof(struct __bpf_usdt_spec) in usdt.bpf.h: 12 16-byte argument specs, the u64 cookie, the
    /// short argument count, padded to 8.</summary>
    public const int SpecSize = 208;

    private static readonly ConditionalWeakTable<BpfMap, SpecIdPool> IdPools = new();

    private readonly UprobeLink[] _sites;
    private readonly BpfMap _specs;
    private readonly int[] _specIds;

    private UsdtLink(UprobeLink[] sites, BpfMap specs, int[] specIds, string path, string provider, string name, UsdtProbe[] probes, UsdtOptions options)
        : base(sites[0].Handle, LinkType.PerfEvent, sites[0].Id)
    {
        _sites = sites;
        _specs = specs;
        _specIds = specIds;
        BinaryPath = path;
        Provider = provider;
        Name = name;
        Probes = probes;
        Pid = options.Pid;
        Cookie = options.Cookie;
    }

    /// <summary>The binary probed.</summary>
    public string BinaryPath { get; }

    /// <summary>The probe's provider.</summary>
    public string Provider { get; }

    /// <summary>The probe's name.</summary>
    public string Name { get; }

    /// <summary>The probe sites attached (one per note of the probe).</summary>
    public IReadOnlyList<UsdtProbe> Probes { get; }

    /// <summary>The uprobe link of each site, in <see cref="Probes"/> order.</summary>
    public IReadOnlyList<UprobeLink> Sites => _sites;

    /// <summary>The spec ids (indexes into <c>__bpf_usdt_specs</c>) this attachment holds.</summary>
    public IReadOnlyList<int> SpecIds => _specIds;

    /// <summary>The process filter, null for all processes.</summary>
    public int? Pid { get; }

    /// <summary>The value <c>bpf_usdt_cookie</c> returns.</summary>
    public ulong Cookie { get; }

    /// <summary>Attaches program <paramref name="programName"/> of <paramref name="collection"/> to USDT probe
    /// <paramref name="provider"/>:<paramref name="name"/> of <paramref name="binary"/>, filling the collection's
    /// <c>__bpf_usdt_specs</c> map.</summary>
    /// <exception cref="KeyNotFoundException">No such program, or the collection has no <c>__bpf_usdt_specs</c>
    /// map (the program does not include usdt.bpf.h).</exception>
    /// <inheritdoc cref="Attach(BpfProgram, BpfMap, string, string, string, UsdtOptions?)"/>
    public static UsdtLink Attach(BpfCollection collection, string programName, string binary, string provider, string name, UsdtOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(collection);
        ArgumentException.ThrowIfNullOrEmpty(programName);
        if (!collection.Programs.TryGetValue(programName, out var program))
            throw new KeyNotFoundException($"the collection has no program '{programName}'");
        return Attach(program, SpecMapOf(collection, programName), binary, provider, name, options);
    }

    internal static BpfMap SpecMapOf(BpfCollection collection, string programName) =>
        collection.Maps.TryGetValue(SpecMapName, out var specs) ? specs
            : throw new KeyNotFoundException($"the collection of program '{programName}' has no {SpecMapName} map: USDT programs include <bpf/usdt.bpf.h>");

    /// <summary>Attaches <paramref name="program"/> to USDT probe <paramref name="provider"/>:<paramref name="name"/>
    /// of <paramref name="binary"/>, writing the argument specs into <paramref name="specs"/>.</summary>
    /// <param name="program">A loaded Kprobe-type program (section <c>usdt</c>).</param>
    /// <param name="specs">The program's <c>__bpf_usdt_specs</c> map (an array of <see cref="SpecSize"/>-byte values).</param>
    /// <param name="binary">A path, library or executable name (<see cref="BinaryLocator.Resolve"/>).</param>
    /// <param name="provider">The probe's provider.</param>
    /// <param name="name">The probe's name.</param>
    /// <param name="options">Pid filter and the USDT cookie.</param>
    /// <exception cref="LibraryNotFoundException">The binary was not found.</exception>
    /// <exception cref="SymbolResolutionException">The binary has no such probe.</exception>
    /// <exception cref="UsdtArgumentException">A site's argument spec cannot be read by usdt.bpf.h.</exception>
    /// <exception cref="BinaryFormatException">The binary's notes are malformed.</exception>
    /// <exception cref="InvalidOperationException">The spec map is full.</exception>
    /// <exception cref="NotSupportedByKernelException">No uprobes, semaphores or BPF cookies on perf links.</exception>
    /// <exception cref="BpfException">perf_event_open or attaching failed.</exception>
    public static UsdtLink Attach(BpfProgram program, BpfMap specs, string binary, string provider, string name, UsdtOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(specs);
        ArgumentException.ThrowIfNullOrEmpty(provider);
        ArgumentException.ThrowIfNullOrEmpty(name);
        options ??= new UsdtOptions();
        UprobeLink.RequireKprobeType(program, "USDT");
        if (specs.Type != MapType.Array || specs.KeySize != 4 || specs.ValueSize != SpecSize)
            throw new ArgumentException(
                $"map '{specs.Name}' is not usdt.bpf.h's spec map (an array of int to {SpecSize}-byte struct __bpf_usdt_spec), got {specs.Type} {specs.KeySize}->{specs.ValueSize}", nameof(specs));

        string path = BinaryLocator.Resolve(binary, options.Pid);
        var probes = UsdtNotes.Read(path).Where(p => p.Provider == provider && p.Name == name).ToArray();
        if (probes.Length == 0)
            throw new SymbolNotFoundException($"{provider}:{name}", path, "no such USDT probe in its .note.stapsdt");
        var parsed = probes.Select(p => p.ParseArguments()).ToArray(); // every spec checked before anything is attached

        var pool = IdPools.GetValue(specs, m => new SpecIdPool((int)m.MaxEntries));
        var ids = new List<int>();
        var byspec = new Dictionary<string, int>(StringComparer.Ordinal);
        var sites = new List<UprobeLink>(probes.Length);
        Span<byte> key = stackalloc byte[4];
        var value = new byte[SpecSize];
        try
        {
            for (int i = 0; i < probes.Length; i++)
            {
                var p = probes[i];
                if (!byspec.TryGetValue(p.ArgumentSpec, out int id))
                {
                    id = pool.Allocate() ?? throw new InvalidOperationException(
                        $"map '{specs.Name}' has no free USDT spec id left ({specs.MaxEntries} entries; raise BPF_USDT_MAX_SPEC_CNT)");
                    ids.Add(id);
                    byspec.Add(p.ArgumentSpec, id);
                    EncodeSpec(parsed[i], options.Cookie, value);
                    BinaryPrimitives.WriteInt32LittleEndian(key, id);
                    specs.Update(key, value);
                }
                var site = UprobeLink.AttachAtOffset(program, path, p.FileOffset, new UprobeOptions
                {
                    Pid = options.Pid,
                    Cookie = (ulong)id,
                    ReferenceCounterOffset = p.SemaphoreFileOffset,
                });
                sites.Add(site);
                if (site.IsIoctlAttachment)
                    throw new NotSupportedByKernelException("USDT spec ids as BPF cookies (perf_event links)", "5.15");
            }
            return new UsdtLink([.. sites], specs, [.. ids], path, provider, name, probes, options);
        }
        catch
        {
            foreach (var s in sites) s.Dispose();
            Release(specs, pool, ids);
            throw;
        }
    }

    /// <summary>Writes usdt.bpf.h's <c>struct __bpf_usdt_spec</c> for <paramref name="args"/> into
    /// <paramref name="into"/> (<see cref="SpecSize"/> bytes): per argument <c>u64 val_off; enum arg_type;
    /// short reg_off; bool arg_signed; char arg_bitshift;</c>, then <c>u64 usdt_cookie; short arg_cnt;</c>.</summary>
    internal static void EncodeSpec(IReadOnlyList<UsdtArgument> args, ulong cookie, Span<byte> into)
    {
        if (into.Length < SpecSize) throw new ArgumentException($"a spec takes {SpecSize} bytes", nameof(into));
        if (args.Count > UsdtArgument.MaxArguments) throw new ArgumentException($"at most {UsdtArgument.MaxArguments} arguments", nameof(args));
        into[..SpecSize].Clear();
        for (int i = 0; i < args.Count; i++)
        {
            var a = args[i];
            var e = into.Slice(16 * i, 16);
            BinaryPrimitives.WriteInt64LittleEndian(e, a.Value);
            BinaryPrimitives.WriteUInt32LittleEndian(e[8..], (uint)a.Kind);
            BinaryPrimitives.WriteInt16LittleEndian(e[12..], a.Kind == UsdtArgumentKind.Constant ? (short)0 : a.RegisterOffset);
            e[14] = a.IsSigned ? (byte)1 : (byte)0;
            e[15] = a.BitShift;
        }
        BinaryPrimitives.WriteUInt64LittleEndian(into[(16 * UsdtArgument.MaxArguments)..], cookie);
        BinaryPrimitives.WriteInt16LittleEndian(into[(16 * UsdtArgument.MaxArguments + 8)..], (short)args.Count);
    }

    private static void Release(BpfMap specs, SpecIdPool pool, IEnumerable<int> ids)
    {
        Span<byte> key = stackalloc byte[4];
        Span<byte> zero = stackalloc byte[SpecSize];
        zero.Clear();
        foreach (int id in ids)
        {
            if (!specs.IsDisposed)
            {
                BinaryPrimitives.WriteInt32LittleEndian(key, id);
                try
                {
                    specs.Update(key, zero);
                }
                catch (BpfException)
                {
                    // The id is free either way; a stale spec is never read without a site whose cookie names it.
                }
            }
            pool.Free(id);
        }
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        bool first = !IsDisposed;
        base.Dispose(disposing); // closes the first site's link fd (shared with _sites[0])
        if (disposing && first)
        {
            foreach (var s in _sites) s.Dispose();
            if (IdPools.TryGetValue(_specs, out var pool)) Release(_specs, pool, _specIds);
        }
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"usdt link {Id} on {BinaryPath}:{Provider}:{Name} ({_sites.Length} site{(_sites.Length == 1 ? "" : "s")}){(Pid is int p ? $" pid {p}" : "")}";

    /// <summary>Free spec ids of one spec map.</summary>
    private sealed class SpecIdPool(int capacity)
    {
        private readonly bool[] _used = new bool[capacity];

        public int? Allocate()
        {
            lock (_used)
            {
                int i = Array.IndexOf(_used, false);
                if (i < 0) return null;
                _used[i] = true;
                return i;
            }
        }

        public void Free(int id)
        {
            lock (_used) _used[id] = false;
        }
    }
}
