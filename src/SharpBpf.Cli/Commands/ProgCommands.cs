using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using SharpBpf.Programs;
using Spectre.Console;

namespace SharpBpf.Cli.Commands;

/// <summary><c>sharpbpf prog list|show|load|pin|attach</c>, like <c>bpftool prog</c>.</summary>
internal static class ProgCommands
{
    public static Command Build()
    {
        var prog = new Command("prog", "Inspect BPF programs loaded in the kernel");
        prog.Subcommands.Add(Common.ListCommand("List all programs", List));
        prog.Subcommands.Add(Common.IdCommand("show", "Show one program", "prog", Show));
        prog.Subcommands.Add(ProgDumpCommands.Build());
        prog.Subcommands.Add(ProgLoadCommand.Build());
        prog.Subcommands.Add(ProgPinAttachCommands.BuildPin());
        prog.Subcommands.Add(ProgPinAttachCommands.BuildAttach());
        return prog;
    }

    private static int List(bool json)
    {
        var infos = Common.ReadAll(BpfProgram.EnumerateIds(), BpfProgram.FromId, WithFullName);
        if (json)
        {
            Common.WriteJsonArray(infos, WriteInfo);
            return 0;
        }
        var table = new Table().AddColumns("ID", "TYPE", "NAME", "TAG", "GPL", "LOADED", "UID", "XLATED", "JITED", "MAPS", "RUNS", "RUN_TIME_NS");
        foreach (var i in infos)
            table.AddRow(i.Id.ToString(), TypeName(i.Type), Markup.Escape(i.Name), i.Tag, i.GplCompatible ? "yes" : "no",
                LoadedAt(i).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture), i.CreatedByUid.ToString(),
                i.XlatedSize.ToString(), i.JitedSize.ToString(), string.Join(",", i.MapIds), i.RunCount.ToString(), i.RunTimeNs.ToString());
        Output.Console.Write(table);
        Output.Writer.WriteLine($"{infos.Count} programs");
        return 0;
    }

    private static int Show(uint id, bool json)
    {
        ProgramInfo i;
        try
        {
            using var p = BpfProgram.FromId(id);
            i = WithFullName(p);
        }
        catch (BpfException e) when (e.Errno == Interop.Errno.ENOENT)
        {
            throw new InvalidOperationException($"no program with id {id}", e);
        }
        if (json)
        {
            Common.WriteJson(w => WriteInfo(w, i));
            return 0;
        }
        var grid = new Grid().AddColumn().AddColumn();
        grid.AddRow("id", i.Id.ToString());
        grid.AddRow("type", TypeName(i.Type));
        grid.AddRow("name", Markup.Escape(i.Name));
        grid.AddRow("tag", i.Tag);
        grid.AddRow("gpl", i.GplCompatible ? "yes" : "no");
        grid.AddRow("loaded_at", LoadedAt(i).ToString("yyyy-MM-ddTHH:mm:sszzz", CultureInfo.InvariantCulture));
        grid.AddRow("uid", i.CreatedByUid.ToString());
        grid.AddRow("xlated", $"{i.XlatedSize}B");
        grid.AddRow("jited", i.JitedSize == 0 ? "no" : $"{i.JitedSize}B");
        grid.AddRow("map_ids", i.MapIds.Length == 0 ? "-" : string.Join(",", i.MapIds));
        if (i.BtfId != 0) grid.AddRow("btf_id", i.BtfId.ToString());
        grid.AddRow("verified_insns", i.VerifiedInstructions.ToString());
        grid.AddRow("run_cnt", i.RunCount.ToString());
        grid.AddRow("run_time_ns", i.RunTimeNs.ToString());
        if (i.RecursionMisses != 0) grid.AddRow("recursion_misses", i.RecursionMisses.ToString());
        Output.Console.Write(grid);
        return 0;
    }

    /// <summary>The program's info with its full name (from BTF when the kernel's 15 characters cut it), as bpftool
    /// prints it.</summary>
    private static ProgramInfo WithFullName(BpfProgram p)
    {
        var info = p.GetInfo();
        return info with { Name = p.GetFullName(info.Name) };
    }

    /// <summary>bpftool's names: the kernel enum name without BPF_PROG_TYPE_, lower case.</summary>
    internal static string TypeName(ProgramType t)
    {
        if (!Enum.IsDefined(t)) return $"type {(uint)t}";
        if (t == ProgramType.Unspecified) return "unspec";
        string pascal = t.ToString();
        var sb = new StringBuilder(pascal.Length + 4);
        for (int i = 0; i < pascal.Length; i++)
        {
            char c = pascal[i];
            if (char.IsUpper(c) && i > 0) sb.Append('_');
            sb.Append(char.ToLowerInvariant(c));
        }
        return sb.ToString();
    }

    /// <summary>Wall-clock load time: load_time is CLOCK_BOOTTIME nanoseconds.</summary>
    private static DateTimeOffset LoadedAt(ProgramInfo i)
    {
        double uptime = double.Parse(File.ReadAllText("/proc/uptime").Split(' ')[0], CultureInfo.InvariantCulture);
        return DateTimeOffset.Now - (TimeSpan.FromSeconds(uptime) - i.LoadTime);
    }

    private static void WriteInfo(Utf8JsonWriter w, ProgramInfo i)
    {
        w.WriteStartObject();
        w.WriteNumber("id", i.Id);
        w.WriteString("type", TypeName(i.Type));
        w.WriteString("name", i.Name);
        w.WriteString("tag", i.Tag);
        w.WriteBoolean("gpl_compatible", i.GplCompatible);
        w.WriteNumber("run_time_ns", i.RunTimeNs);
        w.WriteNumber("run_cnt", i.RunCount);
        w.WriteNumber("loaded_at", LoadedAt(i).ToUnixTimeSeconds());
        w.WriteNumber("uid", i.CreatedByUid);
        w.WriteNumber("bytes_xlated", i.XlatedSize);
        w.WriteBoolean("jited", i.JitedSize != 0);
        w.WriteNumber("bytes_jited", i.JitedSize);
        w.WriteStartArray("map_ids");
        foreach (var m in i.MapIds) w.WriteNumberValue(m);
        w.WriteEndArray();
        if (i.BtfId != 0) w.WriteNumber("btf_id", i.BtfId);
        w.WriteNumber("verified_insns", i.VerifiedInstructions);
        w.WriteEndObject();
    }
}
