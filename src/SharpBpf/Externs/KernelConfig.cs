using System.Globalization;
using System.IO.Compression;

namespace SharpBpf.Externs;

/// <summary>
/// The running kernel's build configuration (<c>CONFIG_X=value</c> lines) as libbpf reads it for <c>__kconfig</c>
/// externs: /proc/config.gz (CONFIG_IKCONFIG_PROC) or else /boot/config-$(uname -r). Options that are "not set"
/// are absent, as in libbpf.
/// </summary>
public sealed class KernelConfig
{
    private readonly Dictionary<string, string> _values;

    private KernelConfig(Dictionary<string, string> values, string source)
    {
        _values = values;
        Source = source;
    }

    /// <summary>Where the configuration was read from.</summary>
    public string Source { get; }

    /// <summary>Number of options that have a value.</summary>
    public int Count => _values.Count;

    /// <summary>The raw value of option <paramref name="name"/> ("y", "m", "250", "\"text\"" with its quotes).</summary>
    public bool TryGetValue(string name, out string value) => _values.TryGetValue(name, out value!);

    /// <summary>Parses configuration text. Only lines starting with <c>CONFIG_</c> count (comments and
    /// "# CONFIG_X is not set" are skipped), each must be <c>CONFIG_NAME=value</c>.</summary>
    /// <exception cref="FormatException">A CONFIG_ line without '=' or with an empty value (the message gives the line).</exception>
    public static KernelConfig Parse(TextReader reader, string source = "")
    {
        ArgumentNullException.ThrowIfNull(reader);
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        int lineNo = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNo++;
            if (!line.StartsWith("CONFIG_", StringComparison.Ordinal)) continue;
            int eq = line.IndexOf('=');
            if (eq < 0 || eq == line.Length - 1)
                throw new FormatException($"{(source.Length > 0 ? source : "kernel config")} line {lineNo}: 'CONFIG_NAME=value', got '{line}'");
            values[line[..eq]] = line[(eq + 1)..].TrimEnd();
        }
        return new KernelConfig(values, source);
    }

    /// <summary>Reads the running kernel's configuration from /proc/config.gz or /boot/config-RELEASE.</summary>
    /// <exception cref="FileNotFoundException">Neither exists.</exception>
    /// <exception cref="FormatException">The file is malformed.</exception>
    public static KernelConfig Load()
    {
        const string proc = "/proc/config.gz";
        if (File.Exists(proc))
        {
            using var file = File.OpenRead(proc);
            using var gz = new GZipStream(file, CompressionMode.Decompress);
            using var reader = new StreamReader(gz);
            return Parse(reader, proc);
        }
        string boot = "/boot/config-" + KernelRelease();
        if (!File.Exists(boot))
            throw new FileNotFoundException($"no kernel config: neither {proc} (CONFIG_IKCONFIG_PROC) nor {boot} exists", boot);
        using (var reader = new StreamReader(boot))
            return Parse(reader, boot);
    }

    /// <summary>The running kernel's release (<c>uname -r</c>).</summary>
    public static string KernelRelease() => File.ReadAllText("/proc/sys/kernel/osrelease").Trim();

    /// <summary>
    /// libbpf's LINUX_KERNEL_VERSION: <c>KERNEL_VERSION(a, b, c)</c> (c capped at 255) of the running kernel, from
    /// Ubuntu's /proc/version_signature or a Debian kernel's version string (their release numbers are not the
    /// upstream version), else from the release.
    /// </summary>
    public static uint LinuxKernelVersion()
    {
        string? signature = File.Exists("/proc/version_signature") ? File.ReadAllText("/proc/version_signature") : null;
        string? version = File.Exists("/proc/sys/kernel/version") ? File.ReadAllText("/proc/sys/kernel/version") : null;
        return ParseKernelVersion(KernelRelease(), signature, version);
    }

    /// <summary>The version code for a release string ("6.18.44-fc-v782"), an Ubuntu version signature
    /// ("Ubuntu 5.4.0-1021.21-aws 5.4.73": the last field) and a kernel version string ("#1 SMP Debian 6.1.55-1 ...").</summary>
    /// <exception cref="FormatException">No "a.b[.c]" version is found.</exception>
    public static uint ParseKernelVersion(string release, string? versionSignature = null, string? version = null)
    {
        ArgumentNullException.ThrowIfNull(release);
        if (versionSignature is not null)
        {
            var fields = versionSignature.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (fields.Length >= 3 && fields[0] == "Ubuntu" && TryVersion(fields[^1], out uint v)) return v;
        }
        if (version is not null)
        {
            int at = version.IndexOf("Debian ", StringComparison.Ordinal);
            if (at >= 0 && TryVersion(version[(at + 7)..], out uint v)) return v;
        }
        if (TryVersion(release, out uint r)) return r;
        throw new FormatException($"a kernel release 'major.minor[.patch]...', got '{release}'");
    }

    private static bool TryVersion(string s, out uint code)
    {
        code = 0;
        Span<uint> parts = stackalloc uint[3];
        int n = 0, i = 0;
        while (n < 3)
        {
            int start = i;
            while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
            if (i == start || !uint.TryParse(s.AsSpan(start, i - start), NumberStyles.None, CultureInfo.InvariantCulture, out parts[n])) break;
            n++;
            if (i >= s.Length || s[i] != '.') break;
            i++;
        }
        if (n < 2 || parts[0] > 255 || parts[1] > 255) return false;
        code = (parts[0] << 16) | (parts[1] << 8) | Math.Min(parts[2], 255u);
        return true;
    }
}
