namespace SharpBpf.Btf;

/// <summary>BTF type kinds (<c>BTF_KIND_*</c>).</summary>
public enum BtfKind : byte
{
    /// <summary>Type id 0, <c>void</c>. Never encoded in a blob.</summary>
    Void = 0,
    /// <summary>BTF_KIND_INT.</summary>
    Int = 1,
    /// <summary>BTF_KIND_PTR.</summary>
    Pointer = 2,
    /// <summary>BTF_KIND_ARRAY.</summary>
    Array = 3,
    /// <summary>BTF_KIND_STRUCT.</summary>
    Struct = 4,
    /// <summary>BTF_KIND_UNION.</summary>
    Union = 5,
    /// <summary>BTF_KIND_ENUM (32-bit values).</summary>
    Enum = 6,
    /// <summary>BTF_KIND_FWD.</summary>
    Fwd = 7,
    /// <summary>BTF_KIND_TYPEDEF.</summary>
    Typedef = 8,
    /// <summary>BTF_KIND_VOLATILE.</summary>
    Volatile = 9,
    /// <summary>BTF_KIND_CONST.</summary>
    Const = 10,
    /// <summary>BTF_KIND_RESTRICT.</summary>
    Restrict = 11,
    /// <summary>BTF_KIND_FUNC.</summary>
    Func = 12,
    /// <summary>BTF_KIND_FUNC_PROTO.</summary>
    FuncProto = 13,
    /// <summary>BTF_KIND_VAR.</summary>
    Var = 14,
    /// <summary>BTF_KIND_DATASEC.</summary>
    Datasec = 15,
    /// <summary>BTF_KIND_FLOAT (Linux 5.13).</summary>
    Float = 16,
    /// <summary>BTF_KIND_DECL_TAG (Linux 5.16).</summary>
    DeclTag = 17,
    /// <summary>BTF_KIND_TYPE_TAG (Linux 5.17).</summary>
    TypeTag = 18,
    /// <summary>BTF_KIND_ENUM64 (Linux 6.0).</summary>
    Enum64 = 19,
}

/// <summary>A BTF type. Every type knows the <see cref="BtfSpec"/> it belongs to, so references by id can be followed.</summary>
public abstract class BtfType
{
    private protected BtfType(BtfSpec owner, uint id, string name)
    {
        Owner = owner;
        Id = id;
        Name = name;
    }

    /// <summary>The BTF this type was parsed from.</summary>
    public BtfSpec Owner { get; }

    /// <summary>The type id (0 is void).</summary>
    public uint Id { get; }

    /// <summary>The name, or the empty string for an anonymous type.</summary>
    public string Name { get; }

    /// <summary>The kind.</summary>
    public abstract BtfKind Kind { get; }

    /// <summary>This type with typedef, const, volatile, restrict and type tags skipped.</summary>
    public BtfType Resolve() => Owner.Resolve(this);

    /// <inheritdoc />
    public override string ToString() => Name.Length == 0 ? $"{Kind} (id {Id})" : $"{Kind} '{Name}' (id {Id})";
}

/// <summary><c>void</c> (type id 0).</summary>
public sealed class BtfVoid : BtfType
{
    internal BtfVoid(BtfSpec owner) : base(owner, 0, "void") { }

    /// <inheritdoc />
    public override BtfKind Kind => BtfKind.Void;
}

/// <summary>Encoding flags of an integer type.</summary>
[Flags]
public enum BtfIntEncoding : byte
{
    /// <summary>Unsigned.</summary>
    None = 0,
    /// <summary>BTF_INT_SIGNED.</summary>
    Signed = 1,
    /// <summary>BTF_INT_CHAR.</summary>
    Char = 2,
    /// <summary>BTF_INT_BOOL.</summary>
    Bool = 4,
}

/// <summary>An integer type.</summary>
public sealed class BtfInt : BtfType
{
    internal BtfInt(BtfSpec owner, uint id, string name, uint size, BtfIntEncoding encoding, int bitOffset, int bits)
        : base(owner, id, name)
    {
        Size = size;
        Encoding = encoding;
        BitOffset = bitOffset;
        Bits = bits;
    }

    /// <inheritdoc />
    public override BtfKind Kind => BtfKind.Int;

    /// <summary>Size in bytes.</summary>
    public uint Size { get; }

    /// <summary>Signedness, char, bool.</summary>
    public BtfIntEncoding Encoding { get; }

    /// <summary>Bit offset of the value inside the storage (legacy bitfield encoding; usually 0).</summary>
    public int BitOffset { get; }

    /// <summary>Number of value bits.</summary>
    public int Bits { get; }
}

/// <summary>A type that refers to exactly one other type: pointer, typedef, const, volatile, restrict, type tag.</summary>
public abstract class BtfReference : BtfType
{
    private protected BtfReference(BtfSpec owner, uint id, string name, uint typeId) : base(owner, id, name) => TypeId = typeId;

    /// <summary>Id of the referenced type.</summary>
    public uint TypeId { get; }

    /// <summary>The referenced type.</summary>
    public BtfType Target => Owner.TypeById(TypeId);
}

/// <summary>A pointer.</summary>
public sealed class BtfPointer : BtfReference
{
    internal BtfPointer(BtfSpec owner, uint id, string name, uint typeId) : base(owner, id, name, typeId) { }

    /// <inheritdoc />
    public override BtfKind Kind => BtfKind.Pointer;
}

/// <summary>A typedef.</summary>
public sealed class BtfTypedef : BtfReference
{
    internal BtfTypedef(BtfSpec owner, uint id, string name, uint typeId) : base(owner, id, name, typeId) { }

    /// <inheritdoc />
    public override BtfKind Kind => BtfKind.Typedef;
}

/// <summary>A <c>volatile</c> qualifier.</summary>
public sealed class BtfVolatile : BtfReference
{
    internal BtfVolatile(BtfSpec owner, uint id, string name, uint typeId) : base(owner, id, name, typeId) { }

    /// <inheritdoc />
    public override BtfKind Kind => BtfKind.Volatile;
}

/// <summary>A <c>const</c> qualifier.</summary>
public sealed class BtfConst : BtfReference
{
    internal BtfConst(BtfSpec owner, uint id, string name, uint typeId) : base(owner, id, name, typeId) { }

    /// <inheritdoc />
    public override BtfKind Kind => BtfKind.Const;
}

/// <summary>A <c>restrict</c> qualifier.</summary>
public sealed class BtfRestrict : BtfReference
{
    internal BtfRestrict(BtfSpec owner, uint id, string name, uint typeId) : base(owner, id, name, typeId) { }

    /// <inheritdoc />
    public override BtfKind Kind => BtfKind.Restrict;
}

/// <summary>A type tag (<c>__attribute__((btf_type_tag("...")))</c>); <see cref="BtfType.Name"/> is the tag.</summary>
public sealed class BtfTypeTag : BtfReference
{
    internal BtfTypeTag(BtfSpec owner, uint id, string name, uint typeId) : base(owner, id, name, typeId) { }

    /// <inheritdoc />
    public override BtfKind Kind => BtfKind.TypeTag;
}

/// <summary>An array.</summary>
public sealed class BtfArray : BtfType
{
    internal BtfArray(BtfSpec owner, uint id, string name, uint elementTypeId, uint indexTypeId, uint count)
        : base(owner, id, name)
    {
        ElementTypeId = elementTypeId;
        IndexTypeId = indexTypeId;
        Count = count;
    }

    /// <inheritdoc />
    public override BtfKind Kind => BtfKind.Array;

    /// <summary>Id of the element type.</summary>
    public uint ElementTypeId { get; }

    /// <summary>Id of the index type.</summary>
    public uint IndexTypeId { get; }

    /// <summary>Number of elements.</summary>
    public uint Count { get; }

    /// <summary>The element type.</summary>
    public BtfType ElementType => Owner.TypeById(ElementTypeId);
}

/// <summary>A member of a struct or union.</summary>
public sealed class BtfMember
{
    private readonly BtfSpec _owner;

    internal BtfMember(BtfSpec owner, string name, uint typeId, uint bitOffset, byte bitfieldSize)
    {
        _owner = owner;
        Name = name;
        TypeId = typeId;
        BitOffset = bitOffset;
        BitfieldSize = bitfieldSize;
    }

    /// <summary>The name, empty for an anonymous struct/union member.</summary>
    public string Name { get; }

    /// <summary>Id of the member's type.</summary>
    public uint TypeId { get; }

    /// <summary>The member's type.</summary>
    public BtfType Type => _owner.TypeById(TypeId);

    /// <summary>Offset from the start of the containing struct, in bits.</summary>
    public uint BitOffset { get; }

    /// <summary>Bitfield width in bits, or 0 when the member is not a bitfield.</summary>
    public byte BitfieldSize { get; }

    /// <inheritdoc />
    public override string ToString() =>
        BitfieldSize == 0 ? $"{Name} @bit {BitOffset}" : $"{Name} @bit {BitOffset}:{BitfieldSize}";
}

/// <summary>A struct or union.</summary>
public abstract class BtfComposite : BtfType
{
    private protected BtfComposite(BtfSpec owner, uint id, string name, uint size, IReadOnlyList<BtfMember> members)
        : base(owner, id, name)
    {
        Size = size;
        Members = members;
    }

    /// <summary>Size in bytes.</summary>
    public uint Size { get; }

    /// <summary>The members in declaration order.</summary>
    public IReadOnlyList<BtfMember> Members { get; }

    /// <summary>The member called <paramref name="name"/> (direct members only), or null.</summary>
    public BtfMember? FindMember(string name)
    {
        foreach (var m in Members)
            if (m.Name == name) return m;
        return null;
    }
}

/// <summary>A struct.</summary>
public sealed class BtfStruct : BtfComposite
{
    internal BtfStruct(BtfSpec owner, uint id, string name, uint size, IReadOnlyList<BtfMember> members)
        : base(owner, id, name, size, members) { }

    /// <inheritdoc />
    public override BtfKind Kind => BtfKind.Struct;
}

/// <summary>A union.</summary>
public sealed class BtfUnion : BtfComposite
{
    internal BtfUnion(BtfSpec owner, uint id, string name, uint size, IReadOnlyList<BtfMember> members)
        : base(owner, id, name, size, members) { }

    /// <inheritdoc />
    public override BtfKind Kind => BtfKind.Union;
}

/// <summary>An enumerator: name and value. For an unsigned 64-bit enum read <see cref="UnsignedValue"/>.</summary>
public readonly record struct BtfEnumValue(string Name, long Value)
{
    /// <summary>The value's bits as an unsigned number.</summary>
    public ulong UnsignedValue => unchecked((ulong)Value);
}

/// <summary>An enum (<see cref="BtfKind.Enum"/> with 32-bit values or <see cref="BtfKind.Enum64"/>).</summary>
public sealed class BtfEnum : BtfType
{
    private readonly BtfKind _kind;

    internal BtfEnum(BtfSpec owner, uint id, string name, BtfKind kind, uint size, bool signed, IReadOnlyList<BtfEnumValue> values)
        : base(owner, id, name)
    {
        _kind = kind;
        Size = size;
        Signed = signed;
        Values = values;
    }

    /// <inheritdoc />
    public override BtfKind Kind => _kind;

    /// <summary>Size in bytes.</summary>
    public uint Size { get; }

    /// <summary>Whether the values are signed (the kind_flag).</summary>
    public bool Signed { get; }

    /// <summary>The enumerators in declaration order. 32-bit values are sign- or zero-extended per <see cref="Signed"/>.</summary>
    public IReadOnlyList<BtfEnumValue> Values { get; }

    /// <summary>Looks up an enumerator by name.</summary>
    public bool TryGetValue(string name, out long value)
    {
        foreach (var v in Values)
        {
            if (v.Name == name)
            {
                value = v.Value;
                return true;
            }
        }
        value = 0;
        return false;
    }
}

/// <summary>A forward declaration of a struct or union.</summary>
public sealed class BtfFwd : BtfType
{
    internal BtfFwd(BtfSpec owner, uint id, string name, bool isUnion) : base(owner, id, name) => IsUnion = isUnion;

    /// <inheritdoc />
    public override BtfKind Kind => BtfKind.Fwd;

    /// <summary>True for <c>union X;</c>, false for <c>struct X;</c>.</summary>
    public bool IsUnion { get; }
}

/// <summary>Linkage of a function.</summary>
public enum BtfFuncLinkage : byte
{
    /// <summary>BTF_FUNC_STATIC.</summary>
    Static = 0,
    /// <summary>BTF_FUNC_GLOBAL.</summary>
    Global = 1,
    /// <summary>BTF_FUNC_EXTERN.</summary>
    Extern = 2,
}

/// <summary>A function: a name and a <see cref="BtfFuncProto"/>.</summary>
public sealed class BtfFunc : BtfType
{
    internal BtfFunc(BtfSpec owner, uint id, string name, uint protoId, BtfFuncLinkage linkage) : base(owner, id, name)
    {
        ProtoTypeId = protoId;
        Linkage = linkage;
    }

    /// <inheritdoc />
    public override BtfKind Kind => BtfKind.Func;

    /// <summary>Id of the function prototype.</summary>
    public uint ProtoTypeId { get; }

    /// <summary>The prototype type (normally a <see cref="BtfFuncProto"/>).</summary>
    public BtfType Proto => Owner.TypeById(ProtoTypeId);

    /// <summary>Linkage (static, global, extern).</summary>
    public BtfFuncLinkage Linkage { get; }
}

/// <summary>A function parameter. A trailing parameter with no name and type id 0 means "...".</summary>
public readonly record struct BtfParameter(string Name, uint TypeId);

/// <summary>A function prototype: return type and parameters.</summary>
public sealed class BtfFuncProto : BtfType
{
    internal BtfFuncProto(BtfSpec owner, uint id, string name, uint returnTypeId, IReadOnlyList<BtfParameter> parameters)
        : base(owner, id, name)
    {
        ReturnTypeId = returnTypeId;
        Parameters = parameters;
    }

    /// <inheritdoc />
    public override BtfKind Kind => BtfKind.FuncProto;

    /// <summary>Id of the return type (0: void).</summary>
    public uint ReturnTypeId { get; }

    /// <summary>The parameters.</summary>
    public IReadOnlyList<BtfParameter> Parameters { get; }

    /// <summary>Whether the last parameter is the variadic marker.</summary>
    public bool IsVariadic => Parameters.Count > 0 && Parameters[^1] is { TypeId: 0, Name.Length: 0 };
}

/// <summary>Linkage of a variable.</summary>
public enum BtfVarLinkage : uint
{
    /// <summary>BTF_VAR_STATIC.</summary>
    Static = 0,
    /// <summary>BTF_VAR_GLOBAL_ALLOCATED.</summary>
    GlobalAllocated = 1,
    /// <summary>BTF_VAR_GLOBAL_EXTERN.</summary>
    GlobalExtern = 2,
}

/// <summary>A variable (inside a <see cref="BtfDatasec"/>).</summary>
public sealed class BtfVar : BtfType
{
    internal BtfVar(BtfSpec owner, uint id, string name, uint typeId, BtfVarLinkage linkage) : base(owner, id, name)
    {
        TypeId = typeId;
        Linkage = linkage;
    }

    /// <inheritdoc />
    public override BtfKind Kind => BtfKind.Var;

    /// <summary>Id of the variable's type.</summary>
    public uint TypeId { get; }

    /// <summary>The variable's type.</summary>
    public BtfType Type => Owner.TypeById(TypeId);

    /// <summary>Linkage.</summary>
    public BtfVarLinkage Linkage { get; }
}

/// <summary>A variable's placement inside a data section.</summary>
public readonly record struct BtfVarSecInfo(uint TypeId, uint Offset, uint Size);

/// <summary>A data section (.data, .bss, .rodata, .maps, ...): its size and variables.</summary>
public sealed class BtfDatasec : BtfType
{
    internal BtfDatasec(BtfSpec owner, uint id, string name, uint size, IReadOnlyList<BtfVarSecInfo> variables)
        : base(owner, id, name)
    {
        Size = size;
        Variables = variables;
    }

    /// <inheritdoc />
    public override BtfKind Kind => BtfKind.Datasec;

    /// <summary>Size of the section in bytes (0 until known, for ELF objects).</summary>
    public uint Size { get; }

    /// <summary>The variables with offset and size.</summary>
    public IReadOnlyList<BtfVarSecInfo> Variables { get; }
}

/// <summary>A floating-point type.</summary>
public sealed class BtfFloat : BtfType
{
    internal BtfFloat(BtfSpec owner, uint id, string name, uint size) : base(owner, id, name) => Size = size;

    /// <inheritdoc />
    public override BtfKind Kind => BtfKind.Float;

    /// <summary>Size in bytes.</summary>
    public uint Size { get; }
}

/// <summary>A declaration tag (<c>__attribute__((btf_decl_tag("...")))</c>); <see cref="BtfType.Name"/> is the tag.</summary>
public sealed class BtfDeclTag : BtfType
{
    internal BtfDeclTag(BtfSpec owner, uint id, string name, uint typeId, int componentIndex) : base(owner, id, name)
    {
        TypeId = typeId;
        ComponentIndex = componentIndex;
    }

    /// <inheritdoc />
    public override BtfKind Kind => BtfKind.DeclTag;

    /// <summary>Id of the tagged type, variable or function.</summary>
    public uint TypeId { get; }

    /// <summary>-1 when the tag applies to the whole type, else the member or parameter index.</summary>
    public int ComponentIndex { get; }
}
