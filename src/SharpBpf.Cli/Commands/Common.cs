using System.CommandLine;
using System.Text;
using System.Text.Json;

namespace SharpBpf.Cli.Commands;

internal static class Common
{
    public static Option<bool> JsonOption() => new("--json", "-j") { Description = "Print JSON instead of a table" };

    public static Argument<uint> IdArgument(string what) => new("id") { Description = $"{what} id (see '{what} list')" };

    /// <summary><c>list</c> (alias <c>ls</c>) with <c>--json</c>.</summary>
    public static Command ListCommand(string description, Func<bool, int> run)
    {
        var json = JsonOption();
        var list = new Command("list", description) { json };
        list.Aliases.Add("ls");
        list.SetAction(p => run(p.GetValue(json)));
        return list;
    }

    /// <summary>A verb on one object by id (<c>show ID</c>, <c>dump ID</c>) with <c>--json</c>.</summary>
    public static Command IdCommand(string name, string description, string what, Func<uint, bool, int> run)
    {
        var json = JsonOption();
        var id = IdArgument(what);
        var command = new Command(name, description) { id, json };
        command.SetAction(p => run(p.GetValue(id), p.GetValue(json)));
        return command;
    }

    /// <summary>Opens every id and reads what <paramref name="read"/> wants, skipping objects freed between
    /// GET_NEXT_ID and GET_FD_BY_ID (ENOENT).</summary>
    public static List<TInfo> ReadAll<T, TInfo>(IEnumerable<uint> ids, Func<uint, T> open, Func<T, TInfo> read)
        where T : IDisposable
    {
        var result = new List<TInfo>();
        foreach (uint id in ids)
        {
            try
            {
                using var obj = open(id);
                result.Add(read(obj));
            }
            catch (BpfException e) when (e.Errno == Interop.Errno.ENOENT)
            {
                // freed meanwhile
            }
        }
        return result;
    }

    /// <summary>Writes JSON with an indented Utf8JsonWriter (AOT-safe, no reflection).</summary>
    public static void WriteJson(Action<Utf8JsonWriter> write)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
            write(w);
        Output.Writer.WriteLine(Encoding.UTF8.GetString(stream.ToArray()));
    }

    /// <summary>Writes <paramref name="items"/> as one JSON array, each with <paramref name="writeItem"/>.</summary>
    public static void WriteJsonArray<T>(IEnumerable<T> items, Action<Utf8JsonWriter, T> writeItem) => WriteJson(w =>
    {
        w.WriteStartArray();
        foreach (var item in items) writeItem(w, item);
        w.WriteEndArray();
    });

    public static string Hex(ReadOnlySpan<byte> bytes)
    {
        var sb = new StringBuilder(bytes.Length * 3);
        for (int i = 0; i < bytes.Length; i++)
        {
            if (i > 0) sb.Append(' ');
            sb.Append(bytes[i].ToString("x2"));
        }
        return sb.ToString();
    }

    public static void WriteHexArray(Utf8JsonWriter w, string name, ReadOnlySpan<byte> bytes)
    {
        w.WriteStartArray(name);
        foreach (var b in bytes) w.WriteStringValue("0x" + b.ToString("x2"));
        w.WriteEndArray();
    }
}
