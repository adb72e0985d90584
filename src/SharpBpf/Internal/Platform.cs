namespace SharpBpf.Internal;

/// <summary>Facts about the running system the library needs (possible CPUs, page size).</summary>
internal static class Platform
{
    private static int _possibleCpus;

    /// <summary>Number of possible CPUs (from /sys/devices/system/cpu/possible), the per-CPU value count.</summary>
    public static int PossibleCpus
    {
        get
        {
            if (_possibleCpus == 0) _possibleCpus = ParseCpuList(File.ReadAllText("/sys/devices/system/cpu/possible"));
            return _possibleCpus;
        }
    }

    public static int PageSize => Environment.SystemPageSize;

    /// <summary>Parses a kernel cpu list such as "0-3,5" and returns highest+1.</summary>
    internal static int ParseCpuList(string text)
    {
        int max = -1;
        foreach (var part in text.Trim().Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var range = part.Split('-');
            if (range.Length is < 1 or > 2 || !int.TryParse(range[^1], out int hi))
                throw new FormatException($"cannot parse CPU list '{text.Trim()}'");
            max = Math.Max(max, hi);
        }
        if (max < 0) throw new FormatException($"empty CPU list '{text.Trim()}'");
        return max + 1;
    }
}

/// <summary>Kernel object names: at most 15 bytes of [A-Za-z0-9_.], as the kernel requires.</summary>
internal static class ObjectName
{
    public const int MaxLength = 15;

    public static unsafe void Write(string name, byte* dest16)
    {
        int n = 0;
        foreach (char c in name)
        {
            if (n == MaxLength) break;
            dest16[n++] = (byte)(char.IsAsciiLetterOrDigit(c) || c is '_' or '.' ? c : '_');
        }
        for (; n < 16; n++) dest16[n] = 0;
    }

    public static unsafe string Read(byte* src16)
    {
        int n = 0;
        while (n < 16 && src16[n] != 0) n++;
        return System.Text.Encoding.ASCII.GetString(src16, n);
    }
}
