namespace SharpBpf.Vm;

/// <summary>A program stopped abnormally in the VM (or could not be loaded into it). <see cref="Pc"/> is the index of
/// the instruction concerned, -1 when none is.</summary>
public class VmException : Exception
{
    /// <summary>Creates the exception.</summary>
    public VmException(int pc, string message) : base(pc >= 0 ? $"pc {pc}: {message}" : message) => Pc = pc;

    /// <summary>Index of the instruction that failed (-1: not tied to one instruction).</summary>
    public int Pc { get; }
}

/// <summary>A load or store outside every region the program may touch (or a store to a read-only region). The
/// access did not happen.</summary>
public sealed class VmMemoryException : VmException
{
    /// <summary>Creates the exception.</summary>
    public VmMemoryException(int pc, ulong address, int size, bool isWrite, string where)
        : base(pc, $"{(isWrite ? "write" : "read")} of {size} byte{(size == 1 ? "" : "s")} at 0x{address:x16} {where}")
    {
        Address = address;
        AccessSize = size;
        IsWrite = isWrite;
    }

    /// <summary>The virtual address the program used.</summary>
    public ulong Address { get; }

    /// <summary>Bytes accessed.</summary>
    public int AccessSize { get; }

    /// <summary>Whether it was a store.</summary>
    public bool IsWrite { get; }
}

/// <summary>The program executed more instructions than <see cref="VmOptions.InstructionBudget"/> allows.</summary>
public sealed class VmBudgetExceededException : VmException
{
    /// <summary>Creates the exception.</summary>
    public VmBudgetExceededException(int pc, long budget)
        : base(pc, $"instruction budget of {budget} exhausted (runaway loop?)") => Budget = budget;

    /// <summary>The budget that was exhausted.</summary>
    public long Budget { get; }
}

/// <summary>The VM refused a program at load: an invalid opcode or register, a jump or call outside the program, an
/// unknown helper, a map reference that cannot be resolved.</summary>
public sealed class VmProgramException : VmException
{
    /// <summary>Creates the exception.</summary>
    public VmProgramException(int pc, string message) : base(pc, message) { }
}
