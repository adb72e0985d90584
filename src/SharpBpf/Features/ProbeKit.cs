using System.Buffers.Binary;
using System.Text;
using SharpBpf.Interop;
using SharpBpf.Maps;
using SharpBpf.Programs;

namespace SharpBpf.Features;

using SharpBpf.Btf;

/// <summary>How to load a probe program of some type: expected attach type, BTF attach target, flags, func info.</summary>
internal readonly record struct ProgramSetup(
    ProgramType Type,
    AttachType? ExpectedAttachType = null,
    uint AttachBtfId = 0,
    int AttachProgFd = 0,
    uint Flags = 0,
    int ProgBtfFd = 0,
    uint FuncInfoTypeId = 0);

/// <summary>Raw building blocks of the probes: tiny programs, map creation, BTF loading, links. Callers hold
/// <see cref="KernelFeatures"/>' lock, so the shared log buffer is safe.</summary>
internal static unsafe class ProbeKit
{
    public const uint BPF_F_SLEEPABLE = 1 << 4;

    // bpf_insn as a little-endian u64: code | dst << 8 | src << 12 | off << 16 | imm << 32.
    public const ulong Exit = 0x95;

    public static ulong MovR0(int imm) => 0xb7 | ((ulong)(uint)imm << 32);

    public static ulong Call(int helper) => 0x85 | ((ulong)(uint)helper << 32);

    /// <summary>LINUX_VERSION_CODE of the running kernel (major &lt;&lt; 16 | minor &lt;&lt; 8 | min(patch, 255)).</summary>
    private static readonly uint KernelVersionCode = ComputeVersionCode(Environment.OSVersion.Version);

    private static uint ComputeVersionCode(Version v) =>
        (uint)(Math.Max(v.Major, 0) << 16 | Math.Max(v.Minor, 0) << 8 | Math.Clamp(v.Build, 0, 255));

    private static readonly byte[] LogBuffer = GC.AllocateArray<byte>(16 * 1024, pinned: true);

    /// <summary>Loads a program; returns its fd or null with <paramref name="errno"/> set. With <paramref name="wantLog"/>
    /// the verifier log (level 1) is returned in <paramref name="log"/>.</summary>
    public static SafeBpfFd? TryLoad(in ProgramSetup setup, ReadOnlySpan<ulong> insns, out int errno, out string log, bool wantLog = false)
    {
        log = "";
        Span<uint> funcInfo = [0, setup.FuncInfoTypeId]; // struct bpf_func_info { insn_off, type_id }
        fixed (ulong* pi = insns)
        fixed (byte* license = "GPL\0"u8)
        fixed (byte* logp = LogBuffer)
        fixed (uint* fi = funcInfo)
        {
            var attr = new ProgLoadAttr
            {
                prog_type = (uint)setup.Type,
                insn_cnt = (uint)insns.Length,
                insns = (ulong)pi,
                license = (ulong)license,
                expected_attach_type = setup.ExpectedAttachType is { } at ? (uint)at : 0,
                attach_btf_id = setup.AttachBtfId,
                attach_prog_fd = (uint)setup.AttachProgFd,
                prog_flags = setup.Flags,
                kern_version = KernelVersionCode, // kprobe programs needed it before Linux 5.0
            };
            if (setup.ProgBtfFd > 0)
            {
                attr.prog_btf_fd = (uint)setup.ProgBtfFd;
                attr.func_info_rec_size = 8;
                attr.func_info = (ulong)fi;
                attr.func_info_cnt = 1;
            }
            if (wantLog)
            {
                LogBuffer[0] = 0;
                attr.log_level = 1;
                attr.log_size = (uint)LogBuffer.Length;
                attr.log_buf = (ulong)logp;
            }
            int r = Bpf.TryCallRetrying(BpfCmd.BPF_PROG_LOAD, ref attr);
            if (wantLog)
            {
                int n = LogBuffer.AsSpan().IndexOf((byte)0);
                log = Encoding.UTF8.GetString(LogBuffer, 0, n < 0 ? LogBuffer.Length : n);
            }
            if (r < 0)
            {
                errno = -r;
                return null;
            }
            errno = 0;
            return new SafeBpfFd(r);
        }
    }

    /// <summary>The minimal program (<c>r0 = retval; exit</c>).</summary>
    public static SafeBpfFd? TryLoadMinimal(in ProgramSetup setup, out int errno, out string log, int retval = 0)
    {
        Span<ulong> insns = [MovR0(retval), Exit];
        return TryLoad(setup, insns, out errno, out log, wantLog: true);
    }

    /// <summary>Creates a map; returns its fd or null with <paramref name="errno"/> set.</summary>
    public static SafeBpfFd? TryCreateMap(ref MapCreateAttr attr, out int errno)
    {
        int r = Bpf.TryCall(BpfCmd.BPF_MAP_CREATE, ref attr);
        errno = r < 0 ? -r : 0;
        return r < 0 ? null : new SafeBpfFd(r);
    }

    /// <summary>A 1-entry array map (key 4, value 4), for map-in-map probes.</summary>
    public static SafeBpfFd? TryCreateArray(out int errno)
    {
        var attr = new MapCreateAttr { map_type = (uint)MapType.Array, key_size = 4, value_size = 4, max_entries = 1 };
        return TryCreateMap(ref attr, out errno);
    }

    /// <summary>
    /// Loads a tiny BTF: [1] int, [2] func_proto int(void), [3] func "probe_target", [4] func "probe_ext"
    /// (both global). Used by storage maps (key/value = int) and the ext probe (funcs).
    /// </summary>
    public static SafeBpfFd? TryLoadProbeBtf(out int errno)
    {
        ReadOnlySpan<byte> strings = "\0int\0probe_target\0probe_ext\0"u8;
        uint[] types =
        [
            1, 1u << 24, 4, (1u << 24) | 32,          // [1] INT "int" size 4, signed, 32 bits
            0, 13u << 24, 1,                          // [2] FUNC_PROTO returning int, no params
            5, (12u << 24) | 1, 2,                    // [3] FUNC "probe_target" global -> [2]
            18, (12u << 24) | 1, 2,                   // [4] FUNC "probe_ext" global -> [2]
        ];
        int typeLen = types.Length * 4;
        var blob = new byte[24 + typeLen + strings.Length];
        BinaryPrimitives.WriteUInt16LittleEndian(blob, BtfSpec.Magic);
        blob[2] = 1;
        BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(4), 24);
        BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(12), (uint)typeLen);
        BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(16), (uint)typeLen);
        BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(20), (uint)strings.Length);
        for (int i = 0; i < types.Length; i++) BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(24 + 4 * i), types[i]);
        strings.CopyTo(blob.AsSpan(24 + typeLen));
        fixed (byte* b = blob)
        {
            var attr = new BtfLoadAttr { btf = (ulong)b, btf_size = (uint)blob.Length };
            int r = Bpf.TryCall(BpfCmd.BPF_BTF_LOAD, ref attr);
            errno = r < 0 ? -r : 0;
            return r < 0 ? null : new SafeBpfFd(r);
        }
    }

    /// <summary>BPF_LINK_CREATE; returns the link fd or null with <paramref name="errno"/> set.</summary>
    public static SafeBpfFd? TryCreateLink(ref LinkCreateAttr attr, out int errno)
    {
        int r = Bpf.TryCall(BpfCmd.BPF_LINK_CREATE, ref attr);
        errno = r < 0 ? -r : 0;
        return r < 0 ? null : new SafeBpfFd(r);
    }

    /// <summary>The last non-empty line of a verifier log (what the verifier complained about).</summary>
    public static string LastLine(string log)
    {
        var lines = log.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        for (int i = lines.Length - 1; i >= 0; i--)
            if (!lines[i].StartsWith("processed ", StringComparison.Ordinal) && !lines[i].StartsWith("verification time", StringComparison.Ordinal)
                && !lines[i].StartsWith("stack depth", StringComparison.Ordinal))
                return lines[i];
        return "";
    }

    /// <summary>Turns a failed operation into NotSupported (errnos that mean "not here": EINVAL, EPERM, EOPNOTSUPP,
    /// ENOENT, ...) or Unknown (anything else: ENOMEM, EMFILE, EFAULT, ...).</summary>
    public static FeatureStatus Failure(string operation, int errno, string? detail = null)
    {
        string reason = $"{operation} failed: {Errno.Describe(errno)}";
        if (!string.IsNullOrEmpty(detail)) reason += $": {detail}";
        return errno is Errno.EINVAL or Errno.E2BIG or Errno.EOPNOTSUPP or Errno.ENOTSUPP or Errno.EPERM or Errno.EACCES
            or Errno.ENOENT or Errno.ENODEV or Errno.ENOSYS or 6 /* ENXIO */
            ? FeatureStatus.NotSupported(reason)
            : FeatureStatus.Unknown(reason);
    }
}
