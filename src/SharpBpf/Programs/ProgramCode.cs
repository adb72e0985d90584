using SharpBpf.Asm;
using SharpBpf.Btf;
using SharpBpf.Interop;

namespace SharpBpf.Programs;

/// <summary>
/// The code of a loaded program as the kernel reports it (BPF_OBJ_GET_INFO_BY_FD with buffers), what
/// <c>bpftool prog dump xlated|jited</c> prints from.
/// </summary>
/// <param name="Xlated">The kernel-translated instructions. Map references are rewritten back to
/// <c>lddw</c> with <see cref="PseudoSource.MapFd"/>/<see cref="PseudoSource.MapValue"/> and the map's id as
/// immediate; helper calls hold the helper's address relative to <c>__bpf_call_base</c> (0 without the right to see
/// kernel addresses).</param>
/// <param name="Jited">The JIT-compiled machine code of all functions, one after another (empty when not JITed or
/// not allowed).</param>
/// <param name="JitedFunctionAddresses">Kernel address of each function's JITed code (<c>jited_ksyms</c>; zeros
/// when kernel pointers are hidden).</param>
/// <param name="JitedFunctionLengths">Byte length of each function's JITed code, in <paramref name="Jited"/>
/// order.</param>
/// <param name="FuncInfos">One BTF func record per function at its first xlated instruction (empty without BTF).</param>
/// <param name="LineInfos">Line records by xlated instruction (string offsets into the program's BTF, id
/// <paramref name="BtfId"/>).</param>
/// <param name="JitedLineAddresses">For each of <paramref name="LineInfos"/>, the address of its first JITed byte
/// (empty when not JITed).</param>
/// <param name="BtfId">The program's BTF object id (0: none).</param>
public sealed record ProgramCode(
    Instruction[] Xlated, byte[] Jited, ulong[] JitedFunctionAddresses, uint[] JitedFunctionLengths,
    BpfFuncInfo[] FuncInfos, BpfLineInfo[] LineInfos, ulong[] JitedLineAddresses, uint BtfId);

public sealed unsafe partial class BpfProgram
{
    /// <summary>
    /// Reads the program's translated instructions, JITed image and its func/line info from the kernel. Retries when
    /// the program changed size between the two queries (it cannot for a loaded program, but the kernel says so by
    /// growing the counts).
    /// </summary>
    /// <exception cref="BpfException">The kernel refused (EPERM without CAP_SYS_ADMIN/CAP_BPF...).</exception>
    public ProgramCode GetCode()
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        while (true)
        {
            BpfProgInfo counts = default;
            ObjectInfo.Get(Handle, ref counts);
            var xlated = new byte[counts.xlated_prog_len];
            var jited = new byte[counts.jited_prog_len];
            var ksyms = new ulong[counts.nr_jited_ksyms];
            var lens = new uint[counts.nr_jited_func_lens];
            uint funcRec = counts.func_info_rec_size == 0 ? BtfProgramInfo.FuncInfoRecordSize : counts.func_info_rec_size;
            uint lineRec = counts.line_info_rec_size == 0 ? BtfProgramInfo.LineInfoRecordSize : counts.line_info_rec_size;
            var funcs = new byte[counts.nr_func_info * funcRec];
            var lines = new byte[counts.nr_line_info * lineRec];
            var jitedLines = new ulong[counts.nr_jited_line_info];
            BpfProgInfo info;
            fixed (byte* px = xlated, pj = jited, pf = funcs, pl = lines)
            fixed (ulong* pk = ksyms, pjl = jitedLines)
            fixed (uint* pn = lens)
            {
                info = new BpfProgInfo
                {
                    xlated_prog_len = (uint)xlated.Length, xlated_prog_insns = (ulong)px,
                    jited_prog_len = (uint)jited.Length, jited_prog_insns = (ulong)pj,
                    nr_jited_ksyms = (uint)ksyms.Length, jited_ksyms = (ulong)pk,
                    nr_jited_func_lens = (uint)lens.Length, jited_func_lens = (ulong)pn,
                    nr_func_info = counts.nr_func_info, func_info_rec_size = funcRec, func_info = (ulong)pf,
                    nr_line_info = counts.nr_line_info, line_info_rec_size = lineRec, line_info = (ulong)pl,
                    nr_jited_line_info = (uint)jitedLines.Length, jited_line_info_rec_size = sizeof(ulong),
                    jited_line_info = (ulong)pjl,
                };
                ObjectInfo.Get(Handle, ref info);
            }
            if (info.xlated_prog_len != xlated.Length || info.jited_prog_len != jited.Length || info.nr_jited_ksyms != ksyms.Length
                || info.nr_jited_func_lens != lens.Length || info.nr_func_info != counts.nr_func_info
                || info.nr_line_info != counts.nr_line_info || info.nr_jited_line_info != jitedLines.Length)
                continue;
            // Without the right to see the code the kernel reports the sizes but leaves the buffers untouched and
            // zeroes the pointers it would have filled.
            if (xlated.Length > 0 && info.xlated_prog_insns == 0)
                throw new BpfException("BPF_OBJ_GET_INFO_BY_FD", Errno.EPERM, $"the kernel did not hand out the instructions of program {Id}");
            return new ProgramCode(
                Instruction.DecodeAll(xlated), info.jited_prog_insns == 0 ? [] : jited, ksyms, lens,
                Records<BpfFuncInfo>(funcs, funcRec), Records<BpfLineInfo>(lines, lineRec), jitedLines, info.btf_id);
        }
    }

    /// <summary>Records of <paramref name="recordSize"/> bytes, each read as a <typeparamref name="T"/> prefix (newer
    /// kernels may append fields).</summary>
    private static T[] Records<T>(byte[] raw, uint recordSize) where T : unmanaged
    {
        int n = recordSize == 0 ? 0 : raw.Length / (int)recordSize;
        var result = new T[n];
        int size = Math.Min(sizeof(T), (int)recordSize);
        fixed (byte* p = raw)
        fixed (T* r = result)
        {
            for (int i = 0; i < n; i++) Buffer.MemoryCopy(p + i * recordSize, r + i, sizeof(T), size);
        }
        return result;
    }
}
