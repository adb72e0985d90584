using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace SharpBpf.Asm;

/// <summary>
/// One 8-byte eBPF instruction (<c>struct bpf_insn</c>): opcode, destination and source registers (4 bits each),
/// a signed 16-bit offset and a signed 32-bit immediate. A 64-bit immediate load (<c>lddw</c>) takes two
/// consecutive instructions. The layout is the kernel's, so a span of instructions can be passed to
/// BPF_PROG_LOAD as is.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public readonly partial struct Instruction : IEquatable<Instruction>
{
    /// <summary>Size of one encoded instruction in bytes.</summary>
    public const int Size = 8;

    private readonly byte _opCode;
    private readonly byte _regs; // dst in the low nibble, src in the high nibble (little-endian bitfields)
    private readonly short _offset;
    private readonly int _imm;

    /// <summary>Creates an instruction from its fields.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A register number is above 15.</exception>
    public Instruction(byte opCode, byte dst, byte src, short offset, int imm)
    {
        if (dst > 15) throw new ArgumentOutOfRangeException(nameof(dst), dst, "register numbers are 4 bits (0-15)");
        if (src > 15) throw new ArgumentOutOfRangeException(nameof(src), src, "register numbers are 4 bits (0-15)");
        _opCode = opCode;
        _regs = (byte)(dst | (src << 4));
        _offset = offset;
        _imm = imm;
    }

    /// <summary>The opcode byte (class | size/source | mode/operation).</summary>
    public byte OpCode => _opCode;

    /// <summary>Destination register (0-15).</summary>
    public byte Dst => (byte)(_regs & 0xf);

    /// <summary>Source register (0-15); for <c>lddw</c> the pseudo source (1 = map fd, 2 = map value ...).</summary>
    public byte Src => (byte)(_regs >> 4);

    /// <summary>Signed 16-bit offset (jump target or memory offset).</summary>
    public short Offset => _offset;

    /// <summary>Signed 32-bit immediate.</summary>
    public int Imm => _imm;

    /// <summary>The instruction as the little-endian 64-bit word the kernel reads.</summary>
    public ulong Raw => _opCode | (ulong)_regs << 8 | (ulong)(ushort)_offset << 16 | (ulong)(uint)_imm << 32;

    /// <summary>Decodes an instruction from its little-endian 64-bit word (the inverse of <see cref="Raw"/>).</summary>
    public static Instruction FromRaw(ulong raw) =>
        new((byte)raw, (byte)((raw >> 8) & 0xf), (byte)((raw >> 12) & 0xf), (short)(ushort)(raw >> 16), (int)(uint)(raw >> 32));

    /// <summary>Decodes the instruction at the start of <paramref name="source"/> (at least 8 bytes, little-endian).</summary>
    /// <exception cref="ArgumentException"><paramref name="source"/> is shorter than 8 bytes.</exception>
    public static Instruction Decode(ReadOnlySpan<byte> source)
    {
        if (source.Length < Size)
            throw new ArgumentException($"an instruction needs {Size} bytes, got {source.Length}", nameof(source));
        return FromRaw(BinaryPrimitives.ReadUInt64LittleEndian(source));
    }

    /// <summary>Writes the 8 little-endian bytes of this instruction to <paramref name="destination"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than 8 bytes.</exception>
    public void Encode(Span<byte> destination)
    {
        if (destination.Length < Size)
            throw new ArgumentException($"an instruction needs {Size} bytes, got {destination.Length}", nameof(destination));
        BinaryPrimitives.WriteUInt64LittleEndian(destination, Raw);
    }

    /// <summary>The 8 little-endian bytes of this instruction.</summary>
    public byte[] ToBytes()
    {
        var bytes = new byte[Size];
        Encode(bytes);
        return bytes;
    }

    /// <summary>Encodes a sequence of instructions to bytes (8 per instruction).</summary>
    public static byte[] Encode(ReadOnlySpan<Instruction> instructions)
    {
        var bytes = new byte[instructions.Length * Size];
        for (int i = 0; i < instructions.Length; i++) instructions[i].Encode(bytes.AsSpan(i * Size));
        return bytes;
    }

    /// <inheritdoc/>
    public bool Equals(Instruction other) => Raw == other.Raw;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is Instruction other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => Raw.GetHashCode();

    /// <summary>Field-wise equality.</summary>
    public static bool operator ==(Instruction left, Instruction right) => left.Equals(right);

    /// <summary>Field-wise inequality.</summary>
    public static bool operator !=(Instruction left, Instruction right) => !left.Equals(right);

    /// <inheritdoc/>
    public override string ToString() => $"op=0x{OpCode:x2} dst=r{Dst} src=r{Src} off={Offset} imm={Imm}";
}
