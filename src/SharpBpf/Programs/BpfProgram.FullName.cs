using SharpBpf.Btf;
using SharpBpf.Interop;

namespace SharpBpf.Programs;

public sealed unsafe partial class BpfProgram
{
    /// <summary>The longest name the kernel keeps for a program (BPF_OBJ_NAME_LEN - 1).</summary>
    public const int KernelNameLength = 15;

    /// <summary>
    /// The program's full name. The kernel keeps only <see cref="KernelNameLength"/> characters of a program's name;
    /// when a name fills them and the program was loaded with BTF, the name of its main function in that BTF is the
    /// full one (bpftool prints names the same way). Falls back to the kernel's name when the BTF cannot be read.
    /// </summary>
    /// <param name="kernelName">The name from <see cref="GetInfo"/> when the caller already has it.</param>
    public string GetFullName(string? kernelName = null)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        BpfProgInfo counts = default;
        ObjectInfo.Get(Handle, ref counts);
        kernelName ??= GetInfo().Name;
        if (kernelName.Length < KernelNameLength || counts.btf_id == 0 || counts.nr_func_info == 0) return kernelName;
        BpfFuncInfo main;
        var query = new BpfProgInfo { nr_func_info = 1, func_info_rec_size = (uint)sizeof(BpfFuncInfo), func_info = (ulong)&main };
        try
        {
            ObjectInfo.Get(Handle, ref query);
            if (query.nr_func_info == 0 || query.func_info == 0) return kernelName;
            using var btf = BtfHandle.FromId(counts.btf_id);
            return btf.ReadSpec().TryTypeById(main.TypeId, out var func) && func.Name.StartsWith(kernelName, StringComparison.Ordinal)
                ? func.Name : kernelName;
        }
        catch (Exception e) when (e is BpfException or BtfFormatException)
        {
            return kernelName; // BTF freed meanwhile or not readable: the short name is still right
        }
    }
}
