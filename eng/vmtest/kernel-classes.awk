# Prints the kernel test classes (namespace.class) of the C# files given: those in [Collection(KernelCollection.Name)].
/^namespace [A-Za-z0-9_.]+;/ { ns = $2; sub(/;$/, "", ns) }
/\[Collection\(KernelCollection\.Name\)\]/ { pending = 1; next }
pending && /class [A-Za-z0-9_]+/ { match($0, /class [A-Za-z0-9_]+/); print ns "." substr($0, RSTART + 6, RLENGTH - 6); pending = 0 }
