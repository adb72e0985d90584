using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using SharpBpf.Asm;
using SharpBpf.Btf;
using SharpBpf.Features;
using SharpBpf.Programs;

namespace SharpBpf.Externs;

/// <summary>What one extern resolved to: found or not (a missing weak extern), an address (typeless ksym) or a
/// kernel BTF id (typed ksym, kfunc), and its index among the collection's externs (for poisoned kfunc calls).</summary>
internal readonly record struct ResolvedExtern(bool Found, ulong Address, uint BtfId, int Index, int ModuleFd = 0);

/// <summary>The externs of a collection resolved against the running kernel.</summary>
internal sealed class ResolvedExterns : IDisposable
{
    /// <summary>Module BTF objects that resolved externs live in (kept open until the programs are loaded).</summary>
    public List<(BtfHandle Handle, BtfSpec Spec)> Modules { get; } = [];

    public void Dispose()
    {
        foreach (var (h, _) in Modules) h.Dispose();
        Modules.Clear();
    }

    /// <summary>The value of the ".kconfig" map, or null without kconfig externs.</summary>
    public byte[]? Kconfig { get; init; }

    public Dictionary<string, ResolvedExtern> Symbols { get; } = new(StringComparer.Ordinal);
}

/// <summary>
/// Resolves a collection's externs like libbpf's bpf_object__resolve_externs: kconfig values from the kernel config
/// and the virtual LINUX_* values, typeless ksyms from /proc/kallsyms, typed ksyms and kfuncs from kernel BTF (their
/// local BTF type must be compatible with the kernel's, by libbpf's CO-RE compatibility rules); then patches the
/// instructions that refer to them.
/// </summary>
internal static class ExternResolver
{
    /// <summary>libbpf's poisoned kfunc call: an invalid helper id the verifier names if the call is reachable.</summary>
    public const int PoisonKfuncCallBase = 2002000000;

    private const byte PseudoBtfId = 3, PseudoKfuncCall = 2;

    public static ResolvedExterns Resolve(CollectionSpec spec, Func<KernelConfig>? loadConfig = null, Func<BtfSpec>? kernelBtf = null)
    {
        kernelBtf ??= () => BtfSpec.Kernel;
        var result = new ResolvedExterns { Kconfig = spec.Maps.TryGetValue(ExternSpec.KconfigMapName, out var km) ? BuildKconfig(spec, km.ValueSize, loadConfig ?? KernelConfig.Load) : null };
        try
        {
            ResolveSymbols(spec, kernelBtf, result);
            return result;
        }
        catch
        {
            result.Dispose();
            throw;
        }
    }

    private static void ResolveSymbols(CollectionSpec spec, Func<BtfSpec> kernelBtf, ResolvedExterns result)
    {
        bool modulesLoaded = false;
        var typeless = new List<ExternSpec>();
        int index = 0;
        foreach (var ext in spec.Externs.Values)
        {
            int i = index++;
            if (ext.Kind == ExternKind.Kconfig) continue;
            var local = spec.Btf?.TypeById(ext.BtfTypeId)
                ?? throw new ExternException(ext.Name, "the object has no BTF describing it");
            if (ext.Kind == ExternKind.Ksym && local is BtfVar v && v.Owner.Resolve(v.Type) is BtfVoid)
            {
                typeless.Add(ext);
                result.Symbols[ext.Name] = new ResolvedExtern(false, 0, 0, i);
                continue;
            }
            var kernel = kernelBtf();
            var kind = ext.Kind == ExternKind.Kfunc ? BtfKind.Func : BtfKind.Var;
            int moduleFd = 0;
            if (!kernel.TryTypeByName(ext.Name, kind, out var target))
            {
                if (!modulesLoaded)
                {
                    LoadModules(kernel, result.Modules);
                    modulesLoaded = true;
                }
                foreach (var (h, m) in result.Modules)
                {
                    // A module's own types only (ids above vmlinux's): vmlinux was searched already.
                    foreach (var t in m.TypesByName(ext.Name))
                        if (t.Kind == kind && t.Id >= m.FirstTypeId) { target = t; moduleFd = h.Fd; break; }
                    if (moduleFd != 0) break;
                }
            }
            if (target is BtfVoid)
            {
                if (!ext.IsWeak)
                    throw new ExternException(ext.Name, $"neither the kernel's nor a module's BTF has a {(kind == BtfKind.Func ? "FUNC (kfunc)" : "VAR")} of that name (declare it __weak to load without it)");
                result.Symbols[ext.Name] = new ResolvedExtern(false, 0, 0, i);
                continue;
            }
            if (local is BtfFunc lf && target is BtfFunc tf)
            {
                if (!Compatible(lf.Proto, tf.Proto, 0))
                    throw new ExternException(ext.Name, $"its prototype is not compatible with the kernel's ({Describe(lf.Proto)} vs {Describe(tf.Proto)})");
            }
            else if (local is BtfVar lv && target is BtfVar tv)
            {
                if (!Compatible(lv.Type, tv.Type, 0))
                    throw new ExternException(ext.Name, $"its type {Describe(lv.Type)} is not compatible with the kernel's {Describe(tv.Type)}");
            }
            result.Symbols[ext.Name] = new ResolvedExtern(true, 0, target.Id, i, moduleFd);
        }
        if (typeless.Count > 0)
        {
            var addresses = KernelSymbols.Lookup(typeless.Select(t => t.Name));
            foreach (var ext in typeless)
            {
                var r = result.Symbols[ext.Name];
                if (addresses.TryGetValue(ext.Name, out ulong addr)) result.Symbols[ext.Name] = r with { Found = true, Address = addr };
                else if (!ext.IsWeak) throw new ExternException(ext.Name, "no such symbol in /proc/kallsyms (declare it __weak to load without it)");
            }
        }
    }

    // The loaded kernel modules' split BTF (kernel BTF objects other than vmlinux), parsed on top of vmlinux.
    private static void LoadModules(BtfSpec vmlinux, List<(BtfHandle, BtfSpec)> modules)
    {
        foreach (uint id in BtfHandle.EnumerateIds())
        {
            BtfHandle h;
            try { h = BtfHandle.FromId(id); }
            catch (BpfException) { continue; } // gone meanwhile
            try
            {
                var info = h.GetInfo();
                if (!info.IsKernel || info.Name == "vmlinux") { h.Dispose(); continue; }
                modules.Add((h, BtfSpec.Parse(h.ReadRaw(), vmlinux)));
            }
            catch
            {
                h.Dispose();
                throw;
            }
        }
    }

    /// <summary>Rewrites each extern reference of a program with what it resolved to; returns the program's
    /// fd_array (module BTF fds of its module kfuncs, index 0 unused), empty when it calls none.</summary>
    public static int[] Patch(Instruction[] insns, List<ExternReference> refs, CollectionSpec spec, ResolvedExterns resolved, string program)
    {
        var fdArray = new List<int>();
        foreach (var r in refs)
        {
            if (!spec.Externs.TryGetValue(r.ExternName, out var ext) || !resolved.Symbols.TryGetValue(r.ExternName, out var res))
                throw new CollectionLoadException("program", program, $"refers to extern '{r.ExternName}', which is not in the spec");
            if ((uint)r.Instruction >= (uint)insns.Length)
                throw new CollectionLoadException("program", program, $"extern reference to '{r.ExternName}' at instruction {r.Instruction}, past the end");
            var insn = insns[r.Instruction];
            if (insn.OpCode == 0x85)
            {
                if (ext.Kind != ExternKind.Kfunc)
                    throw new CollectionLoadException("program", program, $"calls extern '{r.ExternName}', which is not a kfunc");
                short slot = 0;
                if (res.Found && res.ModuleFd != 0)
                {
                    if (fdArray.Count == 0) fdArray.Add(0);
                    int at = fdArray.IndexOf(res.ModuleFd);
                    if (at < 0) { at = fdArray.Count; fdArray.Add(res.ModuleFd); }
                    slot = checked((short)at);
                }
                insns[r.Instruction] = res.Found
                    ? new Instruction(0x85, 0, PseudoKfuncCall, slot, (int)res.BtfId)
                    : new Instruction(0x85, 0, 0, 0, PoisonKfuncCallBase + res.Index);
                continue;
            }
            if (insn.OpCode != 0x18 || r.Instruction + 1 >= insns.Length)
                throw new CollectionLoadException("program", program, $"extern reference to '{r.ExternName}' at instruction {r.Instruction}, which is not a 64-bit load or a call");
            var next = insns[r.Instruction + 1];
            (byte src, int lo, int hi) = !res.Found ? ((byte)0, 0, 0)
                : res.BtfId != 0 ? (PseudoBtfId, (int)res.BtfId, res.ModuleFd) // next imm: BTF object fd, 0 for vmlinux
                : ((byte)0, (int)(uint)res.Address, (int)(uint)(res.Address >> 32));
            insns[r.Instruction] = new Instruction(0x18, insn.Dst, src, insn.Offset, lo);
            insns[r.Instruction + 1] = new Instruction(next.OpCode, next.Dst, next.Src, next.Offset, hi);
        }
        return [.. fdArray];
    }

    // ---- kconfig ----

    private static byte[] BuildKconfig(CollectionSpec spec, uint size, Func<KernelConfig> loadConfig)
    {
        KernelConfig? config = null;
        Exception? configError = null;
        string? Value(ExternSpec ext)
        {
            if (ext.Name.StartsWith("LINUX_", StringComparison.Ordinal)) return VirtualValue(ext.Name);
            if (config is null && configError is null)
            {
                try { config = loadConfig(); }
                catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException or InvalidDataException) { configError = e; }
            }
            if (config is not null) return config.TryGetValue(ext.Name, out var v) ? v : null;
            if (ext.IsWeak) return null;
            throw new ExternException(ext.Name, "reading the kernel config failed: " + configError!.Message, configError);
        }
        return BuildKconfig(spec.Externs.Values, size, Value, () => config?.Source ?? "the kernel config");
    }

    /// <summary>libbpf's virtual kconfig externs, as their config-style value.</summary>
    private static string VirtualValue(string name) => name switch
    {
        "LINUX_KERNEL_VERSION" => KernelConfig.LinuxKernelVersion().ToString(CultureInfo.InvariantCulture),
        "LINUX_HAS_BPF_COOKIE" => KernelFeatures.Helper(ProgramType.Tracepoint, 174).IsSupported ? "1" : "0", // BPF_FUNC_get_attach_cookie
        "LINUX_HAS_SYSCALL_WRAPPER" => HasSyscallWrapper() ? "1" : "0",
        _ => throw new ExternException(name, "not one of libbpf's virtual kconfig externs (LINUX_KERNEL_VERSION, LINUX_HAS_BPF_COOKIE, LINUX_HAS_SYSCALL_WRAPPER)"),
    };

    // Kernels with syscall wrappers (x86-64 since 4.17 ...) have __<arch>_sys_bpf; libbpf probes the same name.
    private static bool HasSyscallWrapper()
    {
        string prefix = System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture switch
        {
            System.Runtime.InteropServices.Architecture.X64 => "__x64_",
            System.Runtime.InteropServices.Architecture.X86 => "__ia32_",
            System.Runtime.InteropServices.Architecture.Arm64 => "__arm64_",
            System.Runtime.InteropServices.Architecture.S390x => "__s390x_",
            System.Runtime.InteropServices.Architecture.RiscV64 => "__riscv_",
            System.Runtime.InteropServices.Architecture.LoongArch64 => "__loongarch64_",
            System.Runtime.InteropServices.Architecture.Ppc64le => "",
            _ => "",
        };
        try
        {
            return prefix.Length > 0 && BtfSpec.Kernel.TryTypeByName(prefix + "sys_bpf", BtfKind.Func, out _);
        }
        catch (Exception e) when (e is NotSupportedByKernelException or IOException or BtfFormatException)
        {
            return false;
        }
    }

    /// <summary>
    /// The ".kconfig" map value for <paramref name="externs"/> (libbpf semantics): y/n/m for bool (m rejected), char
    /// and tristate; quoted strings for char arrays (truncated to fit, NUL-terminated); numbers (decimal, 0x hex,
    /// 0 octal, optional '-') for integers, chars and bools (0/1), range-checked against the size. A missing value is
    /// 0 for a weak extern and an error for a strong one.
    /// </summary>
    internal static byte[] BuildKconfig(IEnumerable<ExternSpec> externs, uint size, Func<ExternSpec, string?> valueOf, Func<string> source)
    {
        var data = new byte[size];
        foreach (var ext in externs)
        {
            if (ext.Kind != ExternKind.Kconfig) continue;
            if ((ulong)ext.Offset + ext.Size > size)
                throw new ExternException(ext.Name, $"its slot [{ext.Offset}, +{ext.Size}) lies outside the {size}-byte .kconfig map");
            string? value = valueOf(ext);
            var slot = data.AsSpan((int)ext.Offset, (int)ext.Size);
            if (value is null)
            {
                if (!ext.IsWeak) throw new ExternException(ext.Name, $"not set in {source()} (declare it __weak to default to 0)");
                continue;
            }
            SetKconfig(ext, value, slot);
        }
        return data;
    }

    private static void SetKconfig(ExternSpec ext, string value, Span<byte> slot)
    {
        if (value is "y" or "n" or "m")
        {
            char c = value[0];
            switch (ext.Type)
            {
                case KconfigType.Bool when c == 'm':
                    throw new ExternException(ext.Name, "value 'm' (module) for a bool; declare it enum libbpf_tristate");
                case KconfigType.Bool:
                    slot[0] = c == 'y' ? (byte)1 : (byte)0;
                    return;
                case KconfigType.Char:
                    slot[0] = (byte)c;
                    return;
                case KconfigType.Tristate:
                    WriteInt(slot, c switch { 'y' => 1UL, 'm' => 2UL, _ => 0UL });
                    return;
                default:
                    throw new ExternException(ext.Name, $"value '{value}' for a {ext.Type}: y/n/m need a bool, char or enum libbpf_tristate");
            }
        }
        if (value.StartsWith('"'))
        {
            if (ext.Type != KconfigType.CharArray)
                throw new ExternException(ext.Name, $"a string value {value} for a {ext.Type}: strings need a char array");
            if (value.Length < 2 || value[^1] != '"')
                throw new ExternException(ext.Name, $"a string value ending with '\"', got {value}");
            var bytes = Encoding.UTF8.GetBytes(value[1..^1]);
            int n = Math.Min(bytes.Length, slot.Length - 1); // truncated like libbpf, always NUL-terminated
            bytes.AsSpan(0, n).CopyTo(slot);
            slot[n..].Clear();
            return;
        }
        if (ext.Type is not (KconfigType.Int or KconfigType.Char or KconfigType.Bool))
            throw new ExternException(ext.Name, $"a numeric value '{value}' for a {ext.Type}");
        if (!TryParseNumber(value, out ulong number))
            throw new ExternException(ext.Name, $"a value y/n/m, a quoted string or a number, got '{value}'");
        if (ext.Type == KconfigType.Bool && number > 1)
            throw new ExternException(ext.Name, $"value {value} for a bool: 0 or 1");
        int bits = slot.Length * 8;
        bool fits = bits == 64 || (ext.IsSigned ? number + (1UL << (bits - 1)) < (1UL << bits) : number >> bits == 0);
        if (!fits) throw new ExternException(ext.Name, $"value {value} does not fit its {(ext.IsSigned ? "signed" : "unsigned")} {slot.Length}-byte type");
        WriteInt(slot, number);
    }

    private static bool TryParseNumber(string s, out ulong value)
    {
        bool negative = s.StartsWith('-');
        var digits = negative ? s.AsSpan(1) : s.AsSpan();
        bool ok;
        if (digits.StartsWith("0x") || digits.StartsWith("0X"))
            ok = ulong.TryParse(digits[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value) && digits.Length > 2;
        else if (digits.Length > 1 && digits[0] == '0')
        {
            value = 0;
            ok = true;
            foreach (char c in digits[1..])
            {
                if (c is < '0' or > '7' || value > ulong.MaxValue >> 3) { ok = false; break; }
                value = value * 8 + (ulong)(c - '0');
            }
        }
        else ok = ulong.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out value);
        if (ok && negative) value = unchecked(0UL - value);
        return ok;
    }

    private static void WriteInt(Span<byte> slot, ulong v)
    {
        switch (slot.Length)
        {
            case 1: slot[0] = (byte)v; break;
            case 2: BinaryPrimitives.WriteUInt16LittleEndian(slot, (ushort)v); break;
            case 4: BinaryPrimitives.WriteUInt32LittleEndian(slot, (uint)v); break;
            default: BinaryPrimitives.WriteUInt64LittleEndian(slot, v); break;
        }
    }

    // ---- libbpf's bpf_core_types_are_compat (used for ksyms and kfunc prototypes) ----

    internal static bool Compatible(BtfType local, BtfType target, int depth)
    {
        if (depth > 32) return false;
        local = local.Owner.Resolve(local);
        target = target.Owner.Resolve(target);
        bool sameKind = local.Kind == target.Kind || (local is BtfEnum && target is BtfEnum);
        if (!sameKind) return false;
        switch (local)
        {
            case BtfVoid or BtfStruct or BtfUnion or BtfEnum or BtfFwd:
                return true;
            case BtfInt li:
                return li.BitOffset == 0 && ((BtfInt)target).BitOffset == 0;
            case BtfFloat:
                return true;
            case BtfPointer lp:
                return Compatible(lp.Target, ((BtfPointer)target).Target, depth + 1);
            case BtfArray la:
                return Compatible(la.ElementType, ((BtfArray)target).ElementType, depth + 1);
            case BtfFuncProto lf:
            {
                var tf = (BtfFuncProto)target;
                if (lf.Parameters.Count != tf.Parameters.Count) return false;
                for (int i = 0; i < lf.Parameters.Count; i++)
                    if (!Compatible(lf.Owner.TypeById(lf.Parameters[i].TypeId), tf.Owner.TypeById(tf.Parameters[i].TypeId), depth + 1)) return false;
                return Compatible(lf.Owner.TypeById(lf.ReturnTypeId), tf.Owner.TypeById(tf.ReturnTypeId), depth + 1);
            }
            default:
                return false;
        }
    }

    private static string Describe(BtfType t) => t.ToString();
}
