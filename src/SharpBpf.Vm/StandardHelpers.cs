using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace SharpBpf.Vm;

/// <summary>The helpers every VM has: maps, time, random numbers, the current task, trace_printk, probe_read, ring
/// buffer and perf output, packet access and adjustment. Results that depend on the environment come from
/// <see cref="VmOptions"/> so runs are reproducible.</summary>
internal static class StandardHelpers
{
    private const long EFAULT = 14, EINVAL = 22, ENOENT = 2;

    public static void Register(BpfVm vm)
    {
        vm.SetHelper(1, static (vm, map, key, _, _, _) => Map(vm, map, 1) is { } m ? m.ProgramLookup(vm.Read(key, (int)m.KeySize)) : 0);
        vm.SetHelper(2, static (vm, map, key, value, flags, _) =>
            Map(vm, map, 2) is { } m ? (ulong)m.ProgramUpdate(vm.Read(key, (int)m.KeySize), vm.Read(value, (int)m.ValueSize), flags) : 0);
        vm.SetHelper(3, static (vm, map, key, _, _, _) => Map(vm, map, 3) is { } m ? (ulong)m.ProgramDelete(vm.Read(key, (int)m.KeySize)) : 0);
        vm.SetHelper(195, static (vm, map, key, cpu, _, _) =>
            Map(vm, map, 195) is { } m && cpu < (ulong)vm.Options.CpuCount ? m.ProgramLookupOnCpu(vm.Read(key, (int)m.KeySize), (int)cpu) : 0);
        vm.SetHelper(87, static (vm, map, value, flags, _, _) => Map(vm, map, 87) is { } m ? (ulong)m.Push(vm.Read(value, (int)m.ValueSize), flags) : 0);
        vm.SetHelper(88, static (vm, map, value, _, _, _) => Map(vm, map, 88) is { } m ? (ulong)m.Pop(vm.Write(value, (int)m.ValueSize), true) : 0);
        vm.SetHelper(89, static (vm, map, value, _, _, _) => Map(vm, map, 89) is { } m ? (ulong)m.Pop(vm.Write(value, (int)m.ValueSize), false) : 0);

        VmHelper ktime = static (vm, _, _, _, _, _) => vm.NextClock();
        vm.SetHelper(5, ktime);
        vm.SetHelper(125, ktime);
        vm.SetHelper(160, ktime);
        vm.SetHelper(208, ktime); // ktime_get_tai_ns
        vm.SetHelper(7, static (vm, _, _, _, _, _) => vm.NextRandom());
        vm.SetHelper(8, static (vm, _, _, _, _, _) => (ulong)vm.Options.Cpu);
        vm.SetHelper(14, static (vm, _, _, _, _, _) => vm.Options.PidTgid);
        vm.SetHelper(15, static (vm, _, _, _, _, _) => vm.Options.UidGid);
        vm.SetHelper(16, static (vm, buf, size, _, _, _) =>
        {
            var dst = vm.Write(buf, (int)Math.Min(size, 4096));
            dst.Clear();
            int n = Encoding.UTF8.GetBytes(vm.Options.Comm.AsSpan(0, Math.Min(vm.Options.Comm.Length, Math.Max(dst.Length - 1, 0))), dst);
            if (n >= dst.Length && dst.Length > 0) dst[^1] = 0;
            return 0;
        });
        vm.SetHelper(6, static (vm, fmt, size, a1, a2, a3) => TracePrintk(vm, fmt, size, [a1, a2, a3]));

        VmHelper probeRead = static (vm, dst, size, src, _, _) =>
        {
            var to = vm.Write(dst, (int)Math.Min(size, int.MaxValue));
            if (vm.TryRead(src, to.Length, out var from)) { from.CopyTo(to); return 0; }
            to.Clear();
            return unchecked((ulong)-EFAULT);
        };
        vm.SetHelper(4, probeRead);
        vm.SetHelper(112, probeRead);
        vm.SetHelper(113, probeRead);
        VmHelper probeReadStr = static (vm, dst, size, src, _, _) =>
        {
            var to = vm.Write(dst, (int)Math.Min(size, int.MaxValue));
            if (to.IsEmpty) return 0;
            for (int i = 0; i < to.Length; i++)
            {
                if (!vm.TryRead(src + (ulong)i, 1, out var b)) { to.Clear(); return unchecked((ulong)-EFAULT); }
                if (i == to.Length - 1 || b[0] == 0) { to[i] = 0; return (ulong)(i + 1); }
                to[i] = b[0];
            }
            return (ulong)to.Length;
        };
        vm.SetHelper(45, probeReadStr);
        vm.SetHelper(114, probeReadStr);
        vm.SetHelper(115, probeReadStr);

        vm.SetHelper(25, static (vm, _, map, flags, data, size) =>
            Map(vm, map, 25) is PerfEventArrayVmMap p ? (ulong)p.Output(flags, vm.Read(data, (int)Math.Min(size, int.MaxValue))) : unchecked((ulong)-EINVAL));
        vm.SetHelper(130, static (vm, map, data, size, flags, _) =>
            Map(vm, map, 130) is RingBufVmMap r ? (ulong)r.Output(vm.Read(data, (int)Math.Min(size, int.MaxValue)), flags) : unchecked((ulong)-EINVAL));
        vm.SetHelper(131, static (vm, map, size, flags, _, _) => Map(vm, map, 131) is RingBufVmMap r ? r.Reserve(size, flags) : 0);
        vm.SetHelper(132, static (vm, rec, _, _, _, _) => Commit(vm, rec, false));
        vm.SetHelper(133, static (vm, rec, _, _, _, _) => Commit(vm, rec, true));
        vm.SetHelper(134, static (vm, map, flags, _, _, _) => Map(vm, map, 134) is RingBufVmMap r ? (flags == 0 ? (ulong)r.AvailableBytes : r.MaxEntries) : 0);

        vm.SetHelper(26, static (vm, _, offset, to, len, _) =>
        {
            var data = vm.PacketData;
            var dst = vm.Write(to, (int)Math.Min(len, int.MaxValue));
            if (offset > (ulong)data.Length || (ulong)dst.Length > (ulong)data.Length - offset) { dst.Clear(); return unchecked((ulong)-EFAULT); }
            data.Slice((int)offset, dst.Length).CopyTo(dst);
            return 0;
        });
        vm.SetHelper(9, static (vm, _, offset, from, len, _) =>
        {
            var data = vm.PacketData;
            var src = vm.Read(from, (int)Math.Min(len, int.MaxValue));
            if (offset > (ulong)data.Length || (ulong)src.Length > (ulong)data.Length - offset) return unchecked((ulong)-EFAULT);
            src.CopyTo(data[(int)offset..]);
            return 0;
        });
        vm.SetHelper(28, static (vm, from, fromSize, to, toSize, seed) =>
        {
            if (fromSize % 4 != 0 || toSize % 4 != 0) return unchecked((ulong)-EINVAL);
            ulong sum = (uint)seed;
            var f = vm.Read(from, (int)fromSize);
            for (int i = 0; i < f.Length; i += 4) sum += ~BinaryPrimitives.ReadUInt32LittleEndian(f[i..]);
            var t = vm.Read(to, (int)toSize);
            for (int i = 0; i < t.Length; i += 4) sum += BinaryPrimitives.ReadUInt32LittleEndian(t[i..]);
            while (sum >> 32 != 0) sum = (sum & 0xffffffff) + (sum >> 32);
            return sum;
        });
        vm.SetHelper(44, static (vm, _, delta, _, _, _) => vm.AdjustHead((int)delta) ? 0 : unchecked((ulong)-EINVAL));
        vm.SetHelper(54, static (vm, _, delta, _, _, _) => vm.AdjustMeta((int)delta) ? 0 : unchecked((ulong)-EINVAL));
        vm.SetHelper(65, static (vm, _, delta, _, _, _) => vm.AdjustTail((int)delta) ? 0 : unchecked((ulong)-EINVAL));
    }

    private static VmMap? Map(BpfVm vm, ulong handle, int helper) =>
        vm.MapByHandle(handle) ?? throw new VmException(vm.CurrentPc, $"helper {helper}: r1/r2 0x{handle:x} is not a map");

    private static ulong Commit(BpfVm vm, ulong record, bool discard)
    {
        if (vm.RegionOwner(record) is RingBufVmMap r && r.Commit(record, discard)) return 0;
        throw new VmException(vm.CurrentPc, $"ringbuf {(discard ? "discard" : "submit")} of 0x{record:x}: not a reserved record");
    }

    private static ulong TracePrintk(BpfVm vm, ulong fmtAddr, ulong size, ulong[] args)
    {
        var fmt = vm.Read(fmtAddr, (int)Math.Min(size, 1024));
        int end = fmt.IndexOf((byte)0);
        string f = Encoding.UTF8.GetString(end >= 0 ? fmt[..end] : fmt);
        var sb = new StringBuilder();
        int arg = 0;
        for (int i = 0; i < f.Length; i++)
        {
            char c = f[i];
            if (c != '%' || i + 1 >= f.Length) { sb.Append(c); continue; }
            int j = i + 1;
            if (f[j] == '%') { sb.Append('%'); i = j; continue; }
            int longs = 0;
            while (j < f.Length && f[j] == 'l') { longs++; j++; }
            if (j >= f.Length) break;
            char conv = f[j];
            ulong a = arg < args.Length ? args[arg++] : 0;
            switch (conv)
            {
                case 'd': case 'i': sb.Append(longs > 0 ? ((long)a).ToString(CultureInfo.InvariantCulture) : ((int)a).ToString(CultureInfo.InvariantCulture)); break;
                case 'u': sb.Append(longs > 0 ? a.ToString(CultureInfo.InvariantCulture) : ((uint)a).ToString(CultureInfo.InvariantCulture)); break;
                case 'x': sb.Append(longs > 0 ? a.ToString("x", CultureInfo.InvariantCulture) : ((uint)a).ToString("x", CultureInfo.InvariantCulture)); break;
                case 'X': sb.Append(longs > 0 ? a.ToString("X", CultureInfo.InvariantCulture) : ((uint)a).ToString("X", CultureInfo.InvariantCulture)); break;
                case 'p': sb.Append("0x").Append(a.ToString("x", CultureInfo.InvariantCulture)); break;
                case 'c': sb.Append((char)(byte)a); break;
                case 's':
                    for (ulong k = 0; k < 256 && vm.TryRead(a + k, 1, out var b) && b[0] != 0; k++) sb.Append((char)b[0]);
                    break;
                default: throw new VmException(vm.CurrentPc, $"bpf_trace_printk: unsupported conversion '%{conv}'");
            }
            i = j;
        }
        string line = sb.ToString();
        vm.Trace(line.TrimEnd('\n'));
        return (ulong)Encoding.UTF8.GetByteCount(line);
    }
}
