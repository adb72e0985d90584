namespace SharpBpf.Maps;

/// <summary><c>enum bpf_map_type</c>.</summary>
public enum MapType : uint
{
    /// <summary>Invalid.</summary>
    Unspecified = 0,
    /// <summary>Hash table (Linux 3.19).</summary>
    Hash = 1,
    /// <summary>Array (Linux 3.19).</summary>
    Array = 2,
    /// <summary>Program array for tail calls (Linux 4.2).</summary>
    ProgramArray = 3,
    /// <summary>Perf event array (Linux 4.3).</summary>
    PerfEventArray = 4,
    /// <summary>Per-CPU hash (Linux 4.6).</summary>
    PerCpuHash = 5,
    /// <summary>Per-CPU array (Linux 4.6).</summary>
    PerCpuArray = 6,
    /// <summary>Stack trace map (Linux 4.6).</summary>
    StackTrace = 7,
    /// <summary>cgroup array (Linux 4.8).</summary>
    CgroupArray = 8,
    /// <summary>LRU hash (Linux 4.10).</summary>
    LruHash = 9,
    /// <summary>LRU per-CPU hash (Linux 4.10).</summary>
    LruPerCpuHash = 10,
    /// <summary>Longest-prefix-match trie (Linux 4.11).</summary>
    LpmTrie = 11,
    /// <summary>Array of maps (Linux 4.12).</summary>
    ArrayOfMaps = 12,
    /// <summary>Hash of maps (Linux 4.12).</summary>
    HashOfMaps = 13,
    /// <summary>Device map for XDP redirect (Linux 4.14).</summary>
    DevMap = 14,
    /// <summary>Socket map (Linux 4.14).</summary>
    SockMap = 15,
    /// <summary>CPU map for XDP redirect (Linux 4.15).</summary>
    CpuMap = 16,
    /// <summary>AF_XDP socket map (Linux 4.18).</summary>
    XskMap = 17,
    /// <summary>Socket hash (Linux 4.18).</summary>
    SockHash = 18,
    /// <summary>cgroup storage (Linux 4.19).</summary>
    CgroupStorage = 19,
    /// <summary>Reuseport socket array (Linux 4.19).</summary>
    ReuseportSockArray = 20,
    /// <summary>Per-CPU cgroup storage (Linux 4.20).</summary>
    PerCpuCgroupStorage = 21,
    /// <summary>FIFO queue (Linux 4.20).</summary>
    Queue = 22,
    /// <summary>LIFO stack (Linux 4.20).</summary>
    Stack = 23,
    /// <summary>Socket local storage (Linux 5.2).</summary>
    SkStorage = 24,
    /// <summary>Device hash map (Linux 5.4).</summary>
    DevMapHash = 25,
    /// <summary>struct_ops map (Linux 5.6).</summary>
    StructOps = 26,
    /// <summary>Ring buffer (Linux 5.8).</summary>
    RingBuf = 27,
    /// <summary>Inode local storage (Linux 5.10).</summary>
    InodeStorage = 28,
    /// <summary>Task local storage (Linux 5.11).</summary>
    TaskStorage = 29,
    /// <summary>Bloom filter (Linux 5.16).</summary>
    BloomFilter = 30,
    /// <summary>User ring buffer (Linux 6.1).</summary>
    UserRingBuf = 31,
    /// <summary>cgroup local storage (Linux 6.2).</summary>
    CgrpStorage = 32,
    /// <summary>Arena (Linux 6.9).</summary>
    Arena = 33,
}

/// <summary>BPF_F_* flags for map creation.</summary>
[Flags]
public enum MapFlags : uint
{
    /// <summary>No flags.</summary>
    None = 0,
    /// <summary>BPF_F_NO_PREALLOC: allocate hash elements on demand (required for LPM tries).</summary>
    NoPrealloc = 1 << 0,
    /// <summary>BPF_F_NO_COMMON_LRU.</summary>
    NoCommonLru = 1 << 1,
    /// <summary>BPF_F_NUMA_NODE: honour <see cref="MapSpec.NumaNode"/>.</summary>
    NumaNode = 1 << 2,
    /// <summary>BPF_F_RDONLY: read-only for user space through this fd.</summary>
    ReadOnly = 1 << 3,
    /// <summary>BPF_F_WRONLY.</summary>
    WriteOnly = 1 << 4,
    /// <summary>BPF_F_STACK_BUILD_ID.</summary>
    StackBuildId = 1 << 5,
    /// <summary>BPF_F_ZERO_SEED.</summary>
    ZeroSeed = 1 << 6,
    /// <summary>BPF_F_RDONLY_PROG: read-only for programs.</summary>
    ReadOnlyProg = 1 << 7,
    /// <summary>BPF_F_WRONLY_PROG.</summary>
    WriteOnlyProg = 1 << 8,
    /// <summary>BPF_F_CLONE.</summary>
    Clone = 1 << 9,
    /// <summary>BPF_F_MMAPABLE: array can be mmapped (Linux 5.5).</summary>
    Mmapable = 1 << 10,
    /// <summary>BPF_F_PRESERVE_ELEMS.</summary>
    PreserveElems = 1 << 11,
    /// <summary>BPF_F_INNER_MAP.</summary>
    InnerMap = 1 << 12,
    /// <summary>BPF_F_LINK.</summary>
    Link = 1 << 13,
    /// <summary>BPF_F_PATH_FD.</summary>
    PathFd = 1 << 14,
    /// <summary>BPF_F_VTYPE_BTF_OBJ_FD.</summary>
    VTypeBtfObjFd = 1 << 15,
    /// <summary>BPF_F_TOKEN_FD.</summary>
    TokenFd = 1 << 16,
    /// <summary>BPF_F_SEGV_ON_FAULT.</summary>
    SegvOnFault = 1 << 17,
    /// <summary>BPF_F_NO_USER_CONV.</summary>
    NoUserConv = 1 << 18,
}

/// <summary>Flags for element updates (BPF_ANY, BPF_NOEXIST, BPF_EXIST, BPF_F_LOCK).</summary>
[Flags]
public enum UpdateFlags : ulong
{
    /// <summary>BPF_ANY: create or update.</summary>
    Any = 0,
    /// <summary>BPF_NOEXIST: create only.</summary>
    NoExist = 1,
    /// <summary>BPF_EXIST: update only.</summary>
    Exist = 2,
    /// <summary>BPF_F_LOCK: take the value's bpf_spin_lock (Linux 5.1).</summary>
    Lock = 4,
}

/// <summary>Flags for element lookups.</summary>
[Flags]
public enum LookupFlags : ulong
{
    /// <summary>None.</summary>
    None = 0,
    /// <summary>BPF_F_LOCK: take the value's bpf_spin_lock (Linux 5.1).</summary>
    Lock = 4,
}
