// Native peer for the ELF open + load benchmark: libbpf's bpf_object__open_file / bpf_object__load /
// bpf_object__close on the same testdata objects as ElfReader.ReadFile + BpfCollection.Load + Dispose.
// Built as a shared library and called from BenchmarkDotNet so both sides are measured in one run.
#include <bpf/libbpf.h>
#include <errno.h>
#include <stddef.h>

// libbpf prints warnings (and, on failure, whole verifier logs) to stderr by default; the benchmark tries every
// object once in its setup, so silence it before the first call.
__attribute__((constructor)) static void eb_init(void)
{
	libbpf_set_print(NULL);
}

static int open_obj(const char *path, struct bpf_object **out)
{
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	long err = libbpf_get_error(obj);
	if (err) {
		*out = NULL;
		return (int)err; // already -errno
	}
	*out = obj;
	return 0;
}

// Opens (reads + parses + collects relocations) and closes an object; returns 0 or -errno.
int eb_open(const char *path)
{
	struct bpf_object *obj;
	int err = open_obj(path, &obj);
	if (err)
		return err;
	bpf_object__close(obj);
	return 0;
}

// Opens, loads (creates maps, loads programs into the kernel) and closes an object; returns 0 or -errno.
int eb_open_load(const char *path)
{
	struct bpf_object *obj;
	int err = open_obj(path, &obj);
	if (err)
		return err;
	err = bpf_object__load(obj);
	bpf_object__close(obj);
	return err < 0 ? err : 0;
}
