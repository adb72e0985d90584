using System.Text.Json;

namespace SharpBpf.Cli.Tools;

/// <summary>Prints a kernel-side log2 histogram (slot i counts values in [2^i, 2^(i+1)), slot 0 also 0) as
/// BCC's tools do: one line per slot from the first to the last non-empty one, with a bar of stars.</summary>
internal static class Log2Histogram
{
    private const int BarWidth = 40;

    public static (ulong Low, ulong High) Bounds(int slot) =>
        slot == 0 ? (0, 1) : (1UL << slot, (1UL << (slot + 1)) - 1);

    public static void Print(TextWriter w, ReadOnlySpan<ulong> slots, string unit)
    {
        int last = -1;
        ulong max = 0;
        for (int i = 0; i < slots.Length; i++)
        {
            if (slots[i] != 0) last = i;
            max = Math.Max(max, slots[i]);
        }
        if (last < 0)
        {
            w.WriteLine($"(no {unit} recorded)");
            return;
        }
        w.WriteLine($"{unit,10}{"",14}: {"count",-8} distribution");
        for (int i = 0; i <= last; i++)
        {
            var (low, high) = Bounds(i);
            int stars = max == 0 ? 0 : (int)(slots[i] * BarWidth / max);
            w.WriteLine($"{low,10} -> {high,-10}: {slots[i],-8} |{new string('*', stars),-BarWidth}|");
        }
    }

    public static void WriteJson(Utf8JsonWriter w, ReadOnlySpan<ulong> slots, string unit)
    {
        w.WriteString("unit", unit);
        w.WriteStartArray("buckets");
        for (int i = 0; i < slots.Length; i++)
        {
            if (slots[i] == 0) continue;
            var (low, high) = Bounds(i);
            w.WriteStartObject();
            w.WriteNumber("low", low);
            w.WriteNumber("high", high);
            w.WriteNumber("count", slots[i]);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }
}
