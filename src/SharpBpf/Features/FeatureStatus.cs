namespace SharpBpf.Features;

/// <summary>Outcome of a feature probe.</summary>
public enum FeatureState
{
    /// <summary>The operation worked on the running kernel.</summary>
    Supported,
    /// <summary>The kernel refused it in a way that means "not available here" (unknown type, EPERM, missing PMU, ...).</summary>
    NotSupported,
    /// <summary>The probe could not decide (an unexpected error such as ENOMEM or EMFILE).</summary>
    Unknown,
}

/// <summary>Result of a feature probe: <see cref="Supported"/>, <see cref="NotSupported(string)"/> with the reason, or
/// <see cref="Unknown(string)"/> with the error that prevented a decision.</summary>
public sealed record FeatureStatus
{
    private FeatureStatus(FeatureState state, string? reason)
    {
        State = state;
        Reason = reason;
    }

    /// <summary>The feature works.</summary>
    public static FeatureStatus Supported { get; } = new(FeatureState.Supported, null);

    /// <summary>The feature is not available; <paramref name="reason"/> says why (errno, verifier message, missing file).</summary>
    public static FeatureStatus NotSupported(string reason) => new(FeatureState.NotSupported, reason);

    /// <summary>The probe failed for an unexpected reason; <paramref name="error"/> describes it.</summary>
    public static FeatureStatus Unknown(string error) => new(FeatureState.Unknown, error);

    /// <summary>Supported, NotSupported or Unknown.</summary>
    public FeatureState State { get; }

    /// <summary>Why it is not supported or unknown; null when supported.</summary>
    public string? Reason { get; }

    /// <summary>Whether <see cref="State"/> is <see cref="FeatureState.Supported"/>.</summary>
    public bool IsSupported => State == FeatureState.Supported;

    /// <inheritdoc />
    public override string ToString() => Reason is null ? State.ToString() : $"{State}: {Reason}";
}

/// <summary>One row of a <see cref="FeatureReport"/>.</summary>
/// <param name="Name">The feature: a program or map type name, a helper name, or an attach kind such as "kprobe-attach".</param>
/// <param name="Status">Supported, NotSupported or Unknown.</param>
/// <param name="Reason">Why not, or null.</param>
public sealed record FeatureResult(string Name, FeatureState Status, string? Reason);

/// <summary>Helper availability for one program type.</summary>
/// <param name="ProgramType">The program type name (a <see cref="Programs.ProgramType"/> member name).</param>
/// <param name="Helpers">One row per helper of the kernel's <c>enum bpf_func_id</c>, named without the BPF_FUNC_ prefix.</param>
public sealed record HelperResults(string ProgramType, IReadOnlyList<FeatureResult> Helpers);

/// <summary>Everything <see cref="KernelFeatures.All"/> probed, in a shape that prints as a table or serialises as JSON.</summary>
/// <param name="ProgramTypes">One row per <see cref="Programs.ProgramType"/> (except Unspecified).</param>
/// <param name="MapTypes">One row per <see cref="Maps.MapType"/> (except Unspecified).</param>
/// <param name="Helpers">Helpers per program type (only program types that load).</param>
/// <param name="AttachKinds">One row per <see cref="KernelFeatures.AttachKinds"/> entry.</param>
public sealed record FeatureReport(
    IReadOnlyList<FeatureResult> ProgramTypes,
    IReadOnlyList<FeatureResult> MapTypes,
    IReadOnlyList<HelperResults> Helpers,
    IReadOnlyList<FeatureResult> AttachKinds);
