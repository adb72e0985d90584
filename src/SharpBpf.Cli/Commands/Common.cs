using System.CommandLine;
using System.Text;
using System.Text.Json;

namespace SharpBpf.Cli.Commands;

internal static class Common
{
    public static Option<bool> JsonOption() => new("--json", "-j") { Description = "Print JSON instead of a table" };

    public static Argument<uint> IdArgument(string what) => new("id") { Description = $"{what} id (see '{what} list')" };

    /// <summary>Writes JSON with an indented Utf8JsonWriter (AOT-safe, no reflection).</summary>
    public static void WriteJson(Action<Utf8JsonWriter> write)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
            write(w);
        Output.Writer.WriteLine(Encoding.UTF8.GetString(stream.ToArray()));
    }

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
