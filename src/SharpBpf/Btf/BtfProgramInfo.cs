using System.Runtime.InteropServices;

namespace SharpBpf.Btf;

/// <summary><c>struct bpf_func_info</c> as BPF_PROG_LOAD wants it: <see cref="InstructionOffset"/> is an instruction
/// index in the loaded program.</summary>
[StructLayout(LayoutKind.Sequential)]
public readonly record struct BpfFuncInfo(uint InstructionOffset, uint TypeId);

/// <summary><c>struct bpf_line_info</c> as BPF_PROG_LOAD wants it: <see cref="InstructionOffset"/> is an instruction
/// index in the loaded program; the string offsets point into the program's BTF.</summary>
[StructLayout(LayoutKind.Sequential)]
public readonly record struct BpfLineInfo(uint InstructionOffset, uint FileNameOffset, uint LineOffset, uint LineColumn);

/// <summary>Where a function from an ELF section landed in a linked program: instructions
/// [<paramref name="SectionOffset"/>, +<paramref name="Length"/>) of section <paramref name="SectionName"/> (instruction
/// indexes) now start at instruction <paramref name="Start"/>.</summary>
public readonly record struct BtfFunctionPlacement(string SectionName, int SectionOffset, int Start, int Length);

/// <summary>
/// func_info and line_info of one linked program, in kernel format (instruction indexes in the program), built by
/// <see cref="BtfExt.ForProgram"/>. Pass <see cref="FuncInfos"/> with <c>func_info_rec_size</c> =
/// <see cref="FuncInfoRecordSize"/> and <see cref="LineInfos"/> with <see cref="LineInfoRecordSize"/>, plus the fd of
/// the loaded object BTF.
/// </summary>
public sealed class BtfProgramInfo
{
    /// <summary>sizeof(struct bpf_func_info).</summary>
    public const int FuncInfoRecordSize = 8;

    /// <summary>sizeof(struct bpf_line_info).</summary>
    public const int LineInfoRecordSize = 16;

    internal BtfProgramInfo(BpfFuncInfo[] funcs, BpfLineInfo[] lines, string? warning)
    {
        FuncInfos = funcs;
        LineInfos = lines;
        Warning = warning;
    }

    /// <summary>One record per function, at its first instruction, sorted. Empty when some function has no func_info
    /// (then <see cref="LineInfos"/> is empty too and <see cref="Warning"/> says why): the kernel would refuse partial info.</summary>
    public BpfFuncInfo[] FuncInfos { get; }

    /// <summary>Line records with strictly increasing instruction indexes. Empty when a function's first instruction has
    /// no line (the kernel demands one per function start); <see cref="Warning"/> then says which.</summary>
    public BpfLineInfo[] LineInfos { get; }

    /// <summary>Why func or line info was left out, or null.</summary>
    public string? Warning { get; }
}

public sealed partial class BtfExt
{
    /// <summary>
    /// Builds the kernel func_info/line_info arrays for a program whose instructions were assembled from several ELF
    /// sections (the program's own section first, then appended subprograms): each function's records are taken from
    /// its section, restricted to its instruction range and moved to its place in the program.
    /// </summary>
    /// <exception cref="ArgumentException">A placement has a negative offset/start or a non-positive length, or
    /// placements overlap in the program.</exception>
    public BtfProgramInfo ForProgram(ReadOnlySpan<BtfFunctionPlacement> functions)
    {
        var funcs = new List<BpfFuncInfo>(functions.Length);
        var lines = new List<BpfLineInfo>();
        string? funcMissing = null, lineMissing = null;
        var order = functions.ToArray();
        Array.Sort(order, (a, b) => a.Start.CompareTo(b.Start));
        int end = 0;
        foreach (var f in order)
        {
            if (f.SectionOffset < 0 || f.Start < 0 || f.Length <= 0)
                throw new ArgumentException($"function placement {f} needs non-negative offsets and a positive length", nameof(functions));
            if (f.Start < end)
                throw new ArgumentException($"function placement {f} overlaps the previous function (which ends at {end})", nameof(functions));
            end = f.Start + f.Length;
            var sec = GetSection(f.SectionName);
            int delta = f.Start - f.SectionOffset;

            bool hasFunc = false;
            foreach (var fi in sec.FuncInfos)
            {
                int idx = fi.InstructionIndex;
                if (idx < f.SectionOffset || idx >= f.SectionOffset + f.Length) continue;
                if (idx == f.SectionOffset) hasFunc = true;
                funcs.Add(new BpfFuncInfo((uint)(idx + delta), fi.TypeId));
            }
            if (!hasFunc) funcMissing ??= $"no func_info for the function at instruction {f.SectionOffset} of section '{f.SectionName}'";

            bool hasLine = false;
            foreach (var li in sec.LineInfos)
            {
                int idx = li.InstructionIndex;
                if (idx < f.SectionOffset || idx >= f.SectionOffset + f.Length) continue;
                uint at = (uint)(idx + delta);
                if (lines.Count > 0 && lines[^1].InstructionOffset >= at) continue; // the kernel wants strictly increasing
                if (idx == f.SectionOffset) hasLine = true;
                lines.Add(new BpfLineInfo(at, li.FileNameOffset, li.LineOffset, li.LineColumn));
            }
            if (!hasLine) lineMissing ??= $"no line_info for the first instruction of the function at {f.SectionOffset} of section '{f.SectionName}'";
        }
        if (funcMissing is not null) return new BtfProgramInfo([], [], funcMissing + ": func_info and line_info left out");
        if (lineMissing is not null) return new BtfProgramInfo(funcs.ToArray(), [], lineMissing + ": line_info left out");
        return new BtfProgramInfo(funcs.ToArray(), lines.ToArray(), null);
    }
}
