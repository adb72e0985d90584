namespace SharpBpf.Links;

/// <summary>
/// The cgroup v2 hierarchy that cgroup BPF programs attach to. Systems with only cgroup v1 mounted (v1 controllers
/// at /sys/fs/cgroup) still have the v2 hierarchy: it only needs mounting (<see cref="MountV2"/>).
/// </summary>
public static class CgroupFs
{
    /// <summary>Where <see cref="MountV2"/> mounts cgroup2 when no mount exists (the systemd "hybrid" location).</summary>
    public const string DefaultV2MountPoint = "/sys/fs/cgroup/unified";

    /// <summary>The mount point of a cgroup2 filesystem in this mount namespace (the first in /proc/self/mountinfo),
    /// or null when there is none.</summary>
    public static string? FindV2()
    {
        foreach (string line in File.ReadLines("/proc/self/mountinfo"))
        {
            // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS
            int dash = line.IndexOf(" - ", StringComparison.Ordinal);
            if (dash < 0) continue;
            var after = line.AsSpan(dash + 3);
            int space = after.IndexOf(' ');
            if (!(space < 0 ? after : after[..space]).SequenceEqual("cgroup2")) continue;
            var fields = line[..dash].Split(' ');
            if (fields.Length >= 5 && fields[3] == "/") return Unescape(fields[4]);
        }
        return null;
    }

    /// <summary>The cgroup v2 mount point: an existing mount, or a new one at <paramref name="mountPoint"/> (default
    /// <see cref="DefaultV2MountPoint"/>). Needs CAP_SYS_ADMIN to mount.</summary>
    /// <exception cref="BpfException">mount(2) failed.</exception>
    public static string MountV2(string? mountPoint = null)
    {
        if (FindV2() is { } existing) return existing;
        string target = mountPoint ?? DefaultV2MountPoint;
        Internal.Mounts.Mount("cgroup2", target);
        return target;
    }

    /// <summary>mountinfo escapes space, tab, newline and backslash as \ooo.</summary>
    private static string Unescape(string s)
    {
        if (!s.Contains('\\')) return s;
        var sb = new System.Text.StringBuilder(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && IsOctal(s, i + 1))
            {
                sb.Append((char)Convert.ToInt32(s.Substring(i + 1, 3), 8));
                i += 3;
            }
            else sb.Append(s[i]);
        }
        return sb.ToString();
    }

    private static bool IsOctal(string s, int at) =>
        at + 3 <= s.Length && s[at] is >= '0' and <= '7' && s[at + 1] is >= '0' and <= '7' && s[at + 2] is >= '0' and <= '7';
}
