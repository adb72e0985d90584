namespace SharpBpf.Links;

/// <summary>Which side of an interface a tc program sees: packets arriving (ingress) or leaving (egress).</summary>
public enum TcDirection
{
    /// <summary>Packets received by the interface.</summary>
    Ingress,
    /// <summary>Packets sent through the interface.</summary>
    Egress,
}
