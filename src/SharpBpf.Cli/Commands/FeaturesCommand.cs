using System.CommandLine;
using System.Text.Json;
using SharpBpf.Features;
using SharpBpf.Maps;
using SharpBpf.Programs;
using Spectre.Console;

namespace SharpBpf.Cli.Commands;

/// <summary><c>sharpbpf features</c>: what the running kernel supports, probed by really loading, creating and
/// attaching (like <c>bpftool feature probe</c>).</summary>
internal static class FeaturesCommand
{
    public static Command Build()
    {
        var json = Common.JsonOption();
        var helpers = new Option<bool>("--helpers") { Description = "List every helper per program type (the table shows counts)" };
        var cmd = new Command("features", "Probe which program types, map types, helpers and attach kinds this kernel supports")
        {
            json, helpers,
        };
        cmd.SetAction(p => Run(p.GetValue(json), p.GetValue(helpers)));
        return cmd;
    }

    private static int Run(bool json, bool listHelpers)
    {
        var report = KernelFeatures.All();
        var programs = report.ProgramTypes.Select(r => r with { Name = ProgramTypeName(r.Name) }).ToList();
        var maps = report.MapTypes.Select(r => r with { Name = MapTypeName(r.Name) }).ToList();
        var helpers = report.Helpers.Select(h => h with { ProgramType = ProgramTypeName(h.ProgramType) }).ToList();
        if (json)
        {
            Common.WriteJson(w =>
            {
                w.WriteStartObject();
                w.WriteString("kernel", Environment.OSVersion.Version.ToString());
                WriteRows(w, "program_types", programs);
                WriteRows(w, "map_types", maps);
                w.WriteStartObject("helpers");
                foreach (var h in helpers)
                {
                    w.WriteStartArray(h.ProgramType);
                    foreach (var r in h.Helpers.Where(r => r.Status == FeatureState.Supported)) w.WriteStringValue(r.Name);
                    w.WriteEndArray();
                }
                w.WriteEndObject();
                WriteRows(w, "attach_kinds", report.AttachKinds);
                w.WriteEndObject();
            });
            return 0;
        }

        Output.Writer.WriteLine($"Kernel {File.ReadAllText("/proc/sys/kernel/osrelease").Trim()}");
        Output.Console.Write(Table("Program types", programs));
        Output.Console.Write(Table("Map types", maps));
        Output.Console.Write(Table("Attach kinds", report.AttachKinds));
        var helperTable = new Table { Title = new TableTitle("Helpers per program type") }.AddColumns("PROGRAM TYPE", "SUPPORTED", listHelpers ? "HELPERS" : "OF");
        foreach (var h in helpers)
        {
            var supported = h.Helpers.Where(r => r.Status == FeatureState.Supported).Select(r => r.Name).ToList();
            helperTable.AddRow(h.ProgramType, supported.Count.ToString(),
                listHelpers ? Markup.Escape(string.Join(", ", supported)) : h.Helpers.Count.ToString());
        }
        Output.Console.Write(helperTable);
        return 0;
    }

    private static Table Table(string title, IEnumerable<FeatureResult> rows)
    {
        var table = new Table { Title = new TableTitle(title) }.AddColumns("NAME", "STATUS", "REASON");
        foreach (var r in rows)
            table.AddRow(Markup.Escape(r.Name), Status(r.Status), Markup.Escape(r.Reason ?? ""));
        return table;
    }

    private static string Status(FeatureState s) => s switch
    {
        FeatureState.Supported => "[green]supported[/]",
        FeatureState.NotSupported => "[yellow]not supported[/]",
        _ => "[red]unknown[/]",
    };

    private static void WriteRows(Utf8JsonWriter w, string name, IEnumerable<FeatureResult> rows)
    {
        w.WriteStartArray(name);
        foreach (var r in rows)
        {
            w.WriteStartObject();
            w.WriteString("name", r.Name);
            w.WriteBoolean("supported", r.Status == FeatureState.Supported);
            w.WriteString("status", r.Status switch
            {
                FeatureState.Supported => "supported",
                FeatureState.NotSupported => "not_supported",
                _ => "unknown",
            });
            if (r.Reason is not null) w.WriteString("reason", r.Reason);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static string ProgramTypeName(string name) =>
        Enum.TryParse<ProgramType>(name, out var t) ? ProgCommands.TypeName(t) : name;

    private static string MapTypeName(string name) =>
        Enum.TryParse<MapType>(name, out var t) ? MapCommands.TypeName(t) : name;
}
