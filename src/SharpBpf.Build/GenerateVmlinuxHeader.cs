using Microsoft.Build.Framework;
using SharpBpf.Btf;
using Task = Microsoft.Build.Utilities.Task;

namespace SharpBpf.Build;

/// <summary>Writes a vmlinux.h for CO-RE programs from a kernel's BTF with SharpBpf's own C dumper (what
/// <c>bpftool btf dump file /sys/kernel/btf/vmlinux format c</c> does).</summary>
public sealed class GenerateVmlinuxHeader : Task
{
    /// <summary>The BTF to dump (default: the running kernel's).</summary>
    public string BtfPath { get; set; } = "/sys/kernel/btf/vmlinux";

    /// <summary>Where the header goes.</summary>
    [Required]
    public string OutputFile { get; set; } = "";

    /// <inheritdoc/>
    public override bool Execute()
    {
        byte[] blob;
        try
        {
            blob = File.ReadAllBytes(BtfPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.LogError(null, "SBPF002", null, null, 0, 0, 0, 0,
                $"cannot read the kernel BTF '{BtfPath}' to generate vmlinux.h ({e.Message}): the kernel needs CONFIG_DEBUG_INFO_BTF, or put a vmlinux.h next to the sources and set BpfGenerateVmlinuxHeader=false");
            return false;
        }
        try
        {
            var spec = BtfSpec.Parse(blob);
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(OutputFile))!);
            string temp = OutputFile + ".tmp";
            using (var writer = new StreamWriter(temp))
                BtfCDump.Write(spec, writer);
            File.Move(temp, OutputFile, overwrite: true);
        }
        catch (BtfFormatException e)
        {
            Log.LogError(null, "SBPF003", null, BtfPath, 0, 0, 0, 0, $"the BTF cannot be parsed: {e.Message}");
            return false;
        }
        Log.LogMessage(MessageImportance.Normal, $"SharpBpf: generated {OutputFile} from {BtfPath}");
        return true;
    }
}
