/*
 * Reproducer of mmapconf case mseal.ranges.range-with-a-two-page-gap-fails-with-enomem-and-both-ends-can-be-sealed
 * With the middle two of four pages unmapped, mseal of the four pages fails with ENOMEM, and mseal of the first and of the last page then succeeds
 * Case file: cases/mseal/ranges.toml:68. Generated for linux by `mmapconf repro`.
 *
 * Build: cc -std=c11 -O1 -Wall -Wextra -Werror -o repro this-file.c
 * Run:   ./repro   (exit 0: as the case expects on this OS, a recorded deviation
 *        included; 1: not; 2: setup failed). The last line is the observation as JSON.
 *
 * Clauses checked (the registry's paraphrase):
 *   linux.mseal.errors.ENOMEM.3 (ERRORS): ENOMEM when an unmapped gap lies between start and end [Linux kernel Documentation/userspace-api/mseal.rst at torvalds/linux 25768de50b1f (Linux 6.10+; no man-pages mseal(2) exists yet)]
 *   linux.mseal.notes.1 (SYSCALL): After one of the listed errors the range is left unmodified: no partial sealing [Linux kernel Documentation/userspace-api/mseal.rst at torvalds/linux 25768de50b1f (Linux 6.10+; no man-pages mseal(2) exists yet)]
 *   linux.mseal.return.1 (SYSCALL): mseal returns 0 on success [Linux kernel Documentation/userspace-api/mseal.rst at torvalds/linux 25768de50b1f (Linux 6.10+; no man-pages mseal(2) exists yet)]
 *   linux.mprotect.errors.ENOMEM.2 (ERRORS): ENOMEM when part of [addr, addr+size-1] is outside the address space or unmapped (EFAULT before 2.4.19) [Linux man-pages mprotect(2), man/man2/mprotect.2 at git 09753408854d, unreleased head]
 *
 * Expected, by the cited clauses:
 *   linux: the call: ENOMEM
 *   linux: step 1: ENOMEM
 *   linux: step 2: ok
 *   linux: step 3: ok
 *   linux: step 4: EPERM
 */
#define CASE_ID "mseal.ranges.range-with-a-two-page-gap-fails-with-enomem-and-both-ends-can-be-sealed"

/* Linux: memfd_create, mremap, MAP_ANONYMOUS and friends need these; FreeBSD's base
 * system exposes its names by default. */
#if !defined(__FreeBSD__)
#define _GNU_SOURCE 1
#define _DEFAULT_SOURCE 1
#endif
#define _FILE_OFFSET_BITS 64

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if defined(__FreeBSD__)
#include <stddef.h>
#include <sys/param.h>
#include <sys/mount.h>
#include <sys/sysctl.h>
#include <sys/user.h>
#else
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#endif

/* The calls under test whose libc wrappers do more than trap into the kernel (musl's mmap
 * turns EPERM into ENOMEM and checks offset and length itself, its mprotect rounds the
 * address down, its mremap checks the new size): on Linux they go to the kernel through
 * syscall(2), as the suite's own child does, so every libc observes the same kernel. */
#if defined(__linux__)
__attribute__((unused)) static void *kernel_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t offset)
{
#if UINTPTR_MAX == 0xffffffffu
	/* 32-bit, as the suite's child: x86's old_mmap (six 32-bit words, the byte offset
	 * unsigned, so the kernel judges its alignment) when the offset fits it, else mmap2
	 * with the offset in its fixed 4 KiB units. SYS_mmap there takes the words' address. */
	long r;
#if defined(__i386__)
	if (offset >= 0 && (uint64_t)offset <= UINT32_MAX) {
		uint32_t words[6] = { (uint32_t)(uintptr_t)addr, (uint32_t)len, (uint32_t)prot,
		                      (uint32_t)flags, (uint32_t)fd, (uint32_t)offset };
		r = syscall(SYS_mmap, words);
		return r == -1 ? MAP_FAILED : (void *)r;
	}
#endif
	r = syscall(SYS_mmap2, addr, len, (long)prot, (long)flags, (long)fd,
	            (unsigned long)((uint64_t)offset >> 12));
#else
	long r = syscall(SYS_mmap, addr, len, (long)prot, (long)flags, (long)fd, (long)offset);
#endif
	return r == -1 ? MAP_FAILED : (void *)r;
}
__attribute__((unused)) static int kernel_mprotect(void *addr, size_t len, int prot)
{
	return (int)syscall(SYS_mprotect, addr, len, (long)prot);
}
__attribute__((unused)) static void *kernel_mremap(void *old_address, size_t old_size, size_t new_size, int flags,
                           void *new_address)
{
	long r = syscall(SYS_mremap, old_address, old_size, new_size, (long)flags, new_address);
	return r == -1 ? MAP_FAILED : (void *)r;
}
#else
#define kernel_mmap mmap
#define kernel_mprotect mprotect
#endif

/* mincore's vector is mapped lazily; FreeBSD has no MAP_NORESERVE. */
#if defined(MAP_NORESERVE)
#define REPRO_NORESERVE MAP_NORESERVE
#else
#define REPRO_NORESERVE 0
#endif

#define SET_ARGS(o, a0, a1, a2, a3, a4, a5) do { \
	(o)->args[0] = (uint64_t)(a0); (o)->args[1] = (uint64_t)(a1); \
	(o)->args[2] = (uint64_t)(int64_t)(a2); (o)->args[3] = (uint64_t)(int64_t)(a3); \
	(o)->args[4] = (uint64_t)(int64_t)(a4); (o)->args[5] = (uint64_t)(int64_t)(a5); \
} while (0)

/* The runtime below is the same in every file; a case uses only part of it. */
#if defined(__GNUC__) || defined(__clang__)
#define REPRO_UNUSED __attribute__((unused))
#else
#define REPRO_UNUSED
#endif

struct repro_name {
	const char *name;
	int value;
};
#define REPRO_MAX_STEPS 4

/* Names this case uses. A libc whose headers lack one gets the value where the
 * file was generated when it runs on that OS and architecture; elsewhere the
 * program says which name is missing and exits 2. */
#ifndef ENOMEM
# if defined(__linux__) && defined(__aarch64__)
#  define ENOMEM 0xc
# else
#  define ENOMEM 0
#  define REPRO_LACKS_ENOMEM 1
# endif
#endif
#ifndef EPERM
# if defined(__linux__) && defined(__aarch64__)
#  define EPERM 0x1
# else
#  define EPERM 0
#  define REPRO_LACKS_EPERM 1
# endif
#endif
#ifndef MAP_ANONYMOUS
# if defined(__linux__) && defined(__aarch64__)
#  define MAP_ANONYMOUS 0x20
# else
#  define MAP_ANONYMOUS 0
#  define REPRO_LACKS_MAP_ANONYMOUS 1
# endif
#endif
#ifndef MAP_PRIVATE
# if defined(__linux__) && defined(__aarch64__)
#  define MAP_PRIVATE 0x2
# else
#  define MAP_PRIVATE 0
#  define REPRO_LACKS_MAP_PRIVATE 1
# endif
#endif
#ifndef PROT_READ
# if defined(__linux__) && defined(__aarch64__)
#  define PROT_READ 0x1
# else
#  define PROT_READ 0
#  define REPRO_LACKS_PROT_READ 1
# endif
#endif
#ifndef PROT_WRITE
# if defined(__linux__) && defined(__aarch64__)
#  define PROT_WRITE 0x2
# else
#  define PROT_WRITE 0
#  define REPRO_LACKS_PROT_WRITE 1
# endif
#endif
static const char *const LACKING[] = {
#ifdef REPRO_LACKS_ENOMEM
	"ENOMEM",
#endif
#ifdef REPRO_LACKS_EPERM
	"EPERM",
#endif
#ifdef REPRO_LACKS_MAP_ANONYMOUS
	"MAP_ANONYMOUS",
#endif
#ifdef REPRO_LACKS_MAP_PRIVATE
	"MAP_PRIVATE",
#endif
#ifdef REPRO_LACKS_PROT_READ
	"PROT_READ",
#endif
#ifdef REPRO_LACKS_PROT_WRITE
	"PROT_WRITE",
#endif
	NULL
};

static const struct repro_name ERRNO_NAMES[] = {
#ifdef EACCES
	{ "EACCES", EACCES },
#endif
#ifdef EAGAIN
	{ "EAGAIN", EAGAIN },
#endif
#ifdef EBADF
	{ "EBADF", EBADF },
#endif
#ifdef EBUSY
	{ "EBUSY", EBUSY },
#endif
#ifdef EEXIST
	{ "EEXIST", EEXIST },
#endif
#ifdef EFAULT
	{ "EFAULT", EFAULT },
#endif
#ifdef EINVAL
	{ "EINVAL", EINVAL },
#endif
#ifdef EIO
	{ "EIO", EIO },
#endif
#ifdef EMFILE
	{ "EMFILE", EMFILE },
#endif
#ifdef ENFILE
	{ "ENFILE", ENFILE },
#endif
#ifdef ENODEV
	{ "ENODEV", ENODEV },
#endif
#ifdef ENOMEM
	{ "ENOMEM", ENOMEM },
#endif
#ifdef EOPNOTSUPP
	{ "EOPNOTSUPP", EOPNOTSUPP },
#endif
#ifdef ENOTSUP
	{ "ENOTSUP", ENOTSUP },
#endif
#ifdef EOVERFLOW
	{ "EOVERFLOW", EOVERFLOW },
#endif
#ifdef EPERM
	{ "EPERM", EPERM },
#endif
#ifdef ETXTBSY
	{ "ETXTBSY", ETXTBSY },
#endif
#ifdef ENXIO
	{ "ENXIO", ENXIO },
#endif
#ifdef EINTR
	{ "EINTR", EINTR },
#endif
#ifdef ENOENT
	{ "ENOENT", ENOENT },
#endif
#ifdef ENOSYS
	{ "ENOSYS", ENOSYS },
#endif
#ifdef EWOULDBLOCK
	{ "EWOULDBLOCK", EWOULDBLOCK },
#endif
#ifdef EDESTADDRREQ
	{ "EDESTADDRREQ", EDESTADDRREQ },
#endif
#ifdef EDQUOT
	{ "EDQUOT", EDQUOT },
#endif
#ifdef EFBIG
	{ "EFBIG", EFBIG },
#endif
#ifdef EISDIR
	{ "EISDIR", EISDIR },
#endif
#ifdef ENOSPC
	{ "ENOSPC", ENOSPC },
#endif
#ifdef EPIPE
	{ "EPIPE", EPIPE },
#endif
#ifdef ESPIPE
	{ "ESPIPE", ESPIPE },
#endif
#ifdef ESRCH
	{ "ESRCH", ESRCH },
#endif
#ifdef ENAMETOOLONG
	{ "ENAMETOOLONG", ENAMETOOLONG },
#endif
#ifdef EHWPOISON
	{ "EHWPOISON", EHWPOISON },
#endif
	{ NULL, 0 }
};
static const struct repro_name SIGNAL_NAMES[] = {
#ifdef SIGSEGV
	{ "SIGSEGV", SIGSEGV },
#endif
#ifdef SIGBUS
	{ "SIGBUS", SIGBUS },
#endif
#ifdef SIGKILL
	{ "SIGKILL", SIGKILL },
#endif
#ifdef SIGABRT
	{ "SIGABRT", SIGABRT },
#endif
#ifdef SIGILL
	{ "SIGILL", SIGILL },
#endif
#ifdef SIGFPE
	{ "SIGFPE", SIGFPE },
#endif
#ifdef SIGTRAP
	{ "SIGTRAP", SIGTRAP },
#endif
#ifdef SIGSYS
	{ "SIGSYS", SIGSYS },
#endif
	{ NULL, 0 }
};

/* ---- The reproducer's runtime: the same in every file mmapconf generates. ----
 * It does what the suite's forked child does (setup, call, steps in a forked process,
 * faults caught with their si_code and address) and prints the observation in the
 * suite's normalised schema (cases/README.md, "Reproducers"). */

enum { ST_NOT_RUN, ST_OK, ST_ERRNO, ST_FAULT, ST_BYTES_DIFFER, ST_SIZE_DIFFERS, ST_COUNT_DIFFERS,
       ST_VMA_DIFFERS };
enum { STAGE_DONE, STAGE_OBJECT, STAGE_MAPPING, STAGE_HOLE, STAGE_PRIVILEGE, STAGE_LIMITS,
       STAGE_SIGNALS, STAGE_FORK, STAGE_STEP, STAGE_SETUP };
static const char *const STAGE_NAME[] = { "done", "object", "mapping", "hole", "privilege",
                                          "limits", "signals", "fork", "step", "setup" };
#define STAGE_COUNT 10
enum { OBJ_NONE, OBJ_FILE, OBJ_DIR, OBJ_PIPE_READ, OBJ_PIPE_WRITE, OBJ_SOCKET, OBJ_TCP_SOCKET,
       OBJ_DEV_ZERO, OBJ_DEV_NULL, OBJ_DEV_RANDOM, OBJ_MEMFD, OBJ_SHM, OBJ_CLOSED_FD };
/* What a step's or the call's outcome reports beyond its state. */
enum { K_OTHER, K_MMAP, K_MREMAP, K_READBACK, K_FORK, K_BUFFER, K_VMA };
/* An expected outcome. */
enum { E_OK, E_ERRNO, E_FAULT, E_BYTES, E_OBSERVE };
/* Expected bytes: none, zeros, one byte value, the object's content at a file offset. */
enum { B_NONE, B_ZEROS, B_BYTE, B_OBJECT };
enum { C_SEQ, C_ZEROS, C_BYTE };

struct outcome {
	int state, err, signo, code;
	uint64_t ret;
	int64_t fault_off, at;
	unsigned char got[16];
	unsigned got_len;
	int64_t size;
	uint64_t args[6];
};

struct record {
	int failed_stage, failed_errno;
	unsigned failed_index;
	int fork_status, forked;
	int grandchild_status, grandchild; /* a second fork step's process, waited for by the child */
	int placed; /* 1: placed_at holds the addresses `placed` compares the result with */
	uint64_t placed_at[2];
	struct outcome call;
	struct outcome steps[REPRO_MAX_STEPS];
};

struct expect {
	int kind;
	int errnos[6];
	int n_errnos;
	int signo;
	int code; /* -1: any si_code */
	int bytes_kind; /* E_BYTES: B_ZEROS, B_BYTE or B_OBJECT (never matches) */
	int byte;
	const char *text;
};

struct check {
	int kind;
	int byte;
	uint64_t file_off;
};

REPRO_UNUSED static uint64_t P;   /* the page size of the running system */
REPRO_UNUSED static uint64_t TOP; /* the end of the user address space of the running system */
REPRO_UNUSED static struct record *rec;
REPRO_UNUSED static uintptr_t result, hole;
REPRO_UNUSED static int object_fd = -1, aux_fd = -1, second_fd = -1;
REPRO_UNUSED static char object_path[640], work_dir[512];
REPRO_UNUSED static int object_kind = OBJ_NONE, object_content = C_SEQ, object_byte;
REPRO_UNUSED static uint64_t object_size;
REPRO_UNUSED static unsigned char *object_buf;
REPRO_UNUSED static void *mincore_vec_addr;
REPRO_UNUSED static size_t mincore_vec_len;

REPRO_UNUSED static sigjmp_buf probe_env;
REPRO_UNUSED static volatile sig_atomic_t in_probe;
REPRO_UNUSED static volatile int fault_signo, fault_code;
REPRO_UNUSED static volatile uintptr_t fault_addr;

REPRO_UNUSED static inline uint8_t content_byte(int content, int byte, uint64_t off)
{
	switch (content) {
	case C_SEQ: return (uint8_t)(off % 251 + 1);
	case C_ZEROS: return 0;
	default: return (uint8_t)byte;
	}
}

REPRO_UNUSED static inline uint8_t expected_byte(const struct check *c, uint64_t i)
{
	switch (c->kind) {
	case B_ZEROS: return 0;
	case B_BYTE: return (uint8_t)c->byte;
	default: return content_byte(object_content, object_byte, c->file_off + i);
	}
}

/* ---- The end of the address space, measured as the suite measures it ---- */

REPRO_UNUSED static inline int placed_at(uint64_t addr)
{
	/* Never where the page does not fit a pointer (at or past 2^32 on a 32-bit ABI). */
	if (addr > UINTPTR_MAX || addr + P < addr || addr + P > (uint64_t)UINTPTR_MAX)
		return 0;
	void *p = mmap((void *)(uintptr_t)addr, (size_t)P, PROT_NONE, MAP_PRIVATE | MAP_ANON, -1, 0);
	if (p == MAP_FAILED)
		return 0;
	munmap(p, (size_t)P);
	return (uint64_t)(uintptr_t)p == addr;
}

REPRO_UNUSED static inline uint64_t user_top(void)
{
	static const unsigned bits[] = { 38, 39, 42, 47, 48, 52, 56, 57 };
	/* x86_64 Linux keeps the last page below 2^47 unmappable (TASK_SIZE_MAX). */
#if defined(__linux__) && defined(__x86_64__)
	uint64_t below = P;
#else
	uint64_t below = 0;
#endif
	/* 32-bit: 3 GiB less 16 MiB (arm), 3 GiB (i386), 4 GiB less 8 KiB (ia32 on x86_64),
	 * 4 GiB less one page, 4 GiB. */
	static const uint64_t ends32[] = { 0xbf000000u, 0xc0000000u, 0xffffe000u, 0xfffff000u,
	                                   (uint64_t)1 << 32 };
	if (sizeof(void *) == 4) {
		for (size_t i = 0; i < sizeof ends32 / sizeof ends32[0]; i++) {
			uint64_t top = ends32[i];
			if (placed_at(top - P) && !placed_at(top) && !placed_at(top + P))
				return top;
		}
	}
	if (sizeof(void *) == 8) {
		for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++) {
			uint64_t top = ((uint64_t)1 << bits[i]) - below;
			if (placed_at(top - P) && !placed_at(top) && !placed_at(top + P))
				return top;
		}
	}
#if defined(__linux__)
	{
		FILE *f = fopen("/proc/self/maps", "r");
		char line[512];
		uint64_t end = 0;
		while (f && fgets(line, sizeof line, f)) {
			size_t n = strlen(line);
			if (n > 8 && strstr(line, "[stack]")) {
				unsigned long long s, e;
				if (sscanf(line, "%llx-%llx", &s, &e) == 2)
					end = e;
			}
		}
		if (f)
			fclose(f);
		if (end) {
			uint64_t top = 1;
			while (top < end)
				top <<= 1;
			return top - below;
		}
	}
#endif
#if defined(__x86_64__)
	return (uint64_t)1 << 47;
#elif defined(__aarch64__)
	return (uint64_t)1 << 48;
#else
	return (uint64_t)1 << 31;
#endif
}

/* ---- Faults: a probe is a sigsetjmp'd one-byte access; a fault elsewhere kills ---- */

REPRO_UNUSED static void on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (!in_probe) {
		signal(sig, SIG_DFL); /* the access runs again and kills us */
		return;
	}
	in_probe = 0;
	fault_signo = sig;
	fault_code = si->si_code;
	fault_addr = (uintptr_t)si->si_addr;
	siglongjmp(probe_env, 1);
}

REPRO_UNUSED static inline int install_handlers(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGSEGV, &sa, NULL) == 0 && sigaction(SIGBUS, &sa, NULL) == 0;
}

/* 1 and the byte in *v, or 0 after a fault (fault_* say which). */
REPRO_UNUSED static inline int probe_read(uintptr_t a, uint8_t *v)
{
	if (sigsetjmp(probe_env, 1))
		return 0;
	in_probe = 1;
	*v = *(volatile uint8_t *)a;
	in_probe = 0;
	return 1;
}

REPRO_UNUSED static inline int probe_write(uintptr_t a, uint8_t v)
{
	if (sigsetjmp(probe_env, 1))
		return 0;
	in_probe = 1;
	*(volatile uint8_t *)a = v;
	in_probe = 0;
	return 1;
}

/* ---- Outcomes ---- */

REPRO_UNUSED static inline void fail_stage(int stage, unsigned index)
{
	rec->failed_stage = stage;
	rec->failed_errno = errno;
	rec->failed_index = index;
}

REPRO_UNUSED static inline void set_ret(struct outcome *o, int64_t r)
{
	if (r == -1) {
		o->state = ST_ERRNO;
		o->err = errno;
	} else {
		o->state = ST_OK;
		o->ret = (uint64_t)r;
	}
}

REPRO_UNUSED static inline void record_fault(struct outcome *o, uintptr_t base)
{
	o->state = ST_FAULT;
	o->signo = fault_signo;
	o->code = fault_code;
	o->fault_off = (int64_t)(fault_addr - base);
}

/* The first difference marks the outcome and starts the window of got bytes. */
REPRO_UNUSED static inline void note_byte(struct outcome *o, uint64_t i, uint8_t got, uint8_t want)
{
	if (o->state == ST_BYTES_DIFFER) {
		uint64_t k = i - (uint64_t)o->at;
		if (k < sizeof o->got && k == o->got_len)
			o->got[o->got_len++] = got;
	} else if (got != want) {
		o->state = ST_BYTES_DIFFER;
		o->at = (int64_t)i;
		o->got[0] = got;
		o->got_len = 1;
	}
}

/* The range a probe loop walks, in static storage: a sigsetjmp'd function's own
 * arguments "might be clobbered by longjmp" (gcc -Wextra), and statics never are. */
REPRO_UNUSED static struct {
	struct outcome *o;
	uintptr_t base;
	uint64_t len;
	uint8_t byte;
	const struct check *c;
} range;

/* Reads the range, checking each byte against range.c when given: 1, or 0 after a fault.
 * One jump point for the whole range: sigsetjmp saves the signal mask with a system call,
 * which per byte made a 64-page step take seconds under gVisor. */
REPRO_UNUSED static int read_range(void)
{
	if (sigsetjmp(probe_env, 1))
		return 0;
	in_probe = 1;
	for (uint64_t i = 0; i < range.len; i++) {
		uint8_t v = *(volatile uint8_t *)(range.base + (uintptr_t)i);
		if (range.c)
			note_byte(range.o, i, v, expected_byte(range.c, i));
	}
	in_probe = 0;
	return 1;
}

REPRO_UNUSED static int write_range(void)
{
	if (sigsetjmp(probe_env, 1))
		return 0;
	in_probe = 1;
	for (uint64_t i = 0; i < range.len; i++)
		*(volatile uint8_t *)(range.base + (uintptr_t)i) = range.byte;
	in_probe = 0;
	return 1;
}

REPRO_UNUSED static inline void step_read(struct outcome *o, uintptr_t base, size_t len, const struct check *c)
{
	o->args[0] = base;
	o->args[1] = len;
	o->state = ST_OK;
	range.o = o;
	range.base = base;
	range.len = len;
	range.c = c;
	if (!read_range())
		record_fault(o, base);
}

REPRO_UNUSED static inline void step_write(struct outcome *o, uintptr_t base, size_t len, uint8_t byte)
{
	o->args[0] = base;
	o->args[1] = len;
	o->args[2] = byte;
	o->state = ST_OK;
	range.base = base;
	range.len = len;
	range.byte = byte;
	if (!write_range())
		record_fault(o, base);
}

/* ---- The object ---- */

REPRO_UNUSED static inline int is_tmpfs(const char *dir)
{
	struct statfs s;
	if (statfs(dir, &s) != 0)
		return 0;
#if defined(__FreeBSD__)
	return strcmp(s.f_fstypename, "tmpfs") == 0;
#else
	return (unsigned long)s.f_type == 0x01021994UL; /* TMPFS_MAGIC */
#endif
}

/* Makes the work directory (in $TMPDIR or /tmp, or a tmpfs one) before fork. */
REPRO_UNUSED static inline int make_work_dir(int tmpfs)
{
	const char *parent = getenv("TMPDIR");
	if (tmpfs) {
		const char *env = getenv("MMAPCONF_TMPFS");
		if (env)
			parent = is_tmpfs(env) ? env : NULL;
		else
			parent = is_tmpfs("/dev/shm") ? "/dev/shm" : is_tmpfs("/tmp") ? "/tmp" : NULL;
		if (!parent) {
			fprintf(stderr, "setup: no tmpfs directory found (set MMAPCONF_TMPFS to one)\n");
			return 0;
		}
	} else if (!parent || !*parent) {
		parent = "/tmp";
	}
	if ((size_t)snprintf(work_dir, sizeof work_dir, "%s/mmapconf-repro-XXXXXX", parent) >= sizeof work_dir)
		return 0;
	if (!mkdtemp(work_dir)) {
		perror("setup: mkdtemp");
		work_dir[0] = 0;
		return 0;
	}
	/* A case that drops privilege still reaches its file. */
	return chmod(work_dir, 0777) == 0;
}

/* Where a file object lives (fs) and the attribute it is given (attr). */
enum { FS_DISK, FS_TMPFS, FS_NOEXEC };
enum { ATTR_NONE, ATTR_APPEND_ONLY };
REPRO_UNUSED static int object_fs = FS_DISK, object_attr = ATTR_NONE;
/* fs = "noexec": the empty directory the child mounts its private noexec tmpfs on. */
REPRO_UNUSED static char noexec_dir[600];

#if defined(__linux__)
#ifndef FS_IOC_GETFLAGS
#define FS_IOC_GETFLAGS _IOR('f', 1, long)
#define FS_IOC_SETFLAGS _IOW('f', 2, long)
#endif
#ifndef FS_APPEND_FL
#define FS_APPEND_FL 0x00000020
#endif
#endif

/* Sets or clears the append-only attribute of an open file: Linux FS_IOC_SETFLAGS with
 * FS_APPEND_FL (needs CAP_LINUX_IMMUTABLE), FreeBSD fchflags UF_APPEND. */
REPRO_UNUSED static inline int set_append_only(int fd, int on)
{
#if defined(__linux__)
	int flags = 0;
	if (ioctl(fd, FS_IOC_GETFLAGS, &flags) != 0)
		return 0;
	flags = on ? (flags | FS_APPEND_FL) : (flags & ~FS_APPEND_FL);
	return ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0;
#elif defined(__FreeBSD__)
	struct stat st;
	if (fstat(fd, &st) != 0)
		return 0;
	unsigned long flags = st.st_flags;
	flags = on ? (flags | UF_APPEND) : (flags & ~(unsigned long)(UF_APPEND | SF_APPEND));
	return fchflags(fd, flags) == 0;
#else
	(void)fd;
	(void)on;
	return 0;
#endif
}

/* fs = "noexec", in the child: a mount namespace of its own, every mount private (nothing
 * propagates out), a tmpfs mounted MS_NOEXEC on noexec_dir, and the file made there. The
 * mount ends with the child's namespace; nothing is left to unmount. */
REPRO_UNUSED static inline int make_noexec_file(void)
{
#if defined(__linux__)
	if (unshare(CLONE_NEWNS) != 0) {
		perror("setup: unshare(CLONE_NEWNS)");
		return 0;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
		perror("setup: mount(/, MS_REC|MS_PRIVATE)");
		return 0;
	}
	if (mount("mmapconf", noexec_dir, "tmpfs", MS_NOEXEC | MS_NOSUID | MS_NODEV, "mode=0700") != 0) {
		perror("setup: mount(tmpfs, MS_NOEXEC)");
		return 0;
	}
	int fd = open(object_path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
	if (fd < 0)
		return 0;
	for (uint64_t done = 0; done < object_size;) {
		ssize_t n = write(fd, object_buf + done, (size_t)(object_size - done));
		if (n <= 0) {
			close(fd);
			return 0;
		}
		done += (uint64_t)n;
	}
	return close(fd) == 0;
#else
	fprintf(stderr, "setup: a private noexec mount needs Linux mount namespaces\n");
	return 0;
#endif
}

/* Prepares what the child opens: the file, the directory, the content. */
REPRO_UNUSED static inline int prepare_object(int kind, int fs, int attr, int64_t size, int content, int byte)
{
	object_kind = kind;
	object_fs = fs;
	object_attr = attr;
	object_content = content;
	object_byte = byte;
	if (size < 0) {
		fprintf(stderr, "setup: object size %lld is negative\n", (long long)size);
		return 0;
	}
	object_size = (uint64_t)size;
	if (kind == OBJ_FILE || kind == OBJ_MEMFD || kind == OBJ_SHM) {
		object_buf = malloc(object_size ? (size_t)object_size : 1);
		if (!object_buf)
			return 0;
		for (uint64_t i = 0; i < object_size; i++)
			object_buf[i] = content_byte(content, byte, i);
	}
	switch (kind) {
	case OBJ_FILE: {
		if (!make_work_dir(fs == FS_TMPFS))
			return 0;
		if (fs == FS_NOEXEC) {
			/* The child mounts the tmpfs and makes the file in it. */
			snprintf(noexec_dir, sizeof noexec_dir, "%s/case.noexec", work_dir);
			if (mkdir(noexec_dir, 0700) != 0) {
				noexec_dir[0] = 0;
				return 0;
			}
			snprintf(object_path, sizeof object_path, "%s/case.dat", noexec_dir);
			return 1;
		}
		snprintf(object_path, sizeof object_path, "%s/case.dat", work_dir);
		int fd = open(object_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
		if (fd < 0)
			return 0;
		for (uint64_t done = 0; done < object_size;) {
			ssize_t n = write(fd, object_buf + done, (size_t)(object_size - done));
			if (n <= 0) {
				close(fd);
				return 0;
			}
			done += (uint64_t)n;
		}
		/* Unprivileged cases reopen the file by path for readback. */
		if (fchmod(fd, 0666) != 0) {
			close(fd);
			return 0;
		}
		/* Set after the content is written; remove_object clears it again. */
		if (attr == ATTR_APPEND_ONLY && !set_append_only(fd, 1)) {
			perror("setup: making the file append-only");
			close(fd);
			return 0;
		}
		return close(fd) == 0;
	}
	case OBJ_DIR:
		if (!make_work_dir(0))
			return 0;
		snprintf(object_path, sizeof object_path, "%s/case.dir", work_dir);
		return mkdir(object_path, 0755) == 0;
	case OBJ_DEV_ZERO:
		snprintf(object_path, sizeof object_path, "/dev/zero");
		return 1;
	case OBJ_DEV_NULL:
		snprintf(object_path, sizeof object_path, "/dev/null");
		return 1;
	case OBJ_DEV_RANDOM:
		snprintf(object_path, sizeof object_path, "/dev/random");
		return 1;
	case OBJ_SHM:
		snprintf(object_path, sizeof object_path, "/dev/shm/mmapconf-repro-%ld", (long)getpid());
		return 1;
	default:
		return 1;
	}
}

/* ---- shm_open's names: made up here, never the user's ---- */

enum { SHM_NEW, SHM_EXISTING, SHM_MISSING, SHM_TOO_LONG_COMPONENT, SHM_TOO_LONG };
enum { FD_SIZE, FD_MODE, FD_UID, FD_GID, FD_CLOEXEC_BIT, FD_ACCMODE, FD_LOWEST };
REPRO_UNUSED static char shm_name[5200], shm_dir[512];
REPRO_UNUSED static int shm_dir_fd = -1, shm_used, lowest_free = -1;

/* The name a shm_open call passes. Linux: glibc's shm_open(3) is open(2) of a file on the
 * /dev/shm tmpfs, so the name is relative to a private directory made there (opened with
 * openat, never following a symlink). FreeBSD: an absolute shm path, shm_unlink'ed after.
 * `existing`: made before the call, with `mode` and `size` bytes of the seq content. */
REPRO_UNUSED static inline int prepare_shm_name(int which, unsigned mode, int64_t size, int unpriv)
{
	shm_used = 1;
	/* PATH_MAX of the system the reproducer is built on. */
	size_t path_max = PATH_MAX;
#if defined(__FreeBSD__)
	const char *prefix = "/";
#else
	const char *prefix = "";
	const char *parent = getenv("MMAPCONF_TMPFS");
	if (!parent)
		parent = is_tmpfs("/dev/shm") ? "/dev/shm" : is_tmpfs("/tmp") ? "/tmp" : NULL;
	if (!parent || !is_tmpfs(parent)) {
		fprintf(stderr, "setup: no tmpfs directory for shm_open's names\n");
		return 0;
	}
	snprintf(shm_dir, sizeof shm_dir, "%s/mmapconf-repro-shm-XXXXXX", parent);
	if (!mkdtemp(shm_dir)) {
		shm_dir[0] = 0;
		return 0;
	}
	/* An unprivileged case reaches the one name it is given, nothing else. */
	if (chmod(shm_dir, 0711) != 0)
		return 0;
	shm_dir_fd = open(shm_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
	if (shm_dir_fd < 0)
		return 0;
#endif
	size_t n = (size_t)snprintf(shm_name, sizeof shm_name, "%s", prefix);
	if (which == SHM_TOO_LONG_COMPONENT) {
		for (size_t i = 0; i < 256; i++)
			shm_name[n++] = 'n';
	} else if (which == SHM_TOO_LONG) {
		for (size_t k = 0; n < path_max + 1; k++, n++)
			shm_name[n] = (k % 201 == 200 && n < path_max) ? '/' : 'l';
	} else {
		n += (size_t)snprintf(shm_name + n, sizeof shm_name - n, "mmapconf-repro-%ld-shm", (long)getpid());
	}
	shm_name[n] = 0;
	if (which != SHM_EXISTING)
		return 1;
#if defined(__FreeBSD__)
	int fd = shm_open(shm_name, O_RDWR | O_CREAT | O_EXCL, 0600);
#else
	int fd = openat(shm_dir_fd, shm_name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
#endif
	if (fd < 0)
		return 0;
	for (int64_t i = 0; i < size; i++) {
		unsigned char b = content_byte(C_SEQ, 0, (uint64_t)i);
		if (write(fd, &b, 1) != 1) {
			close(fd);
			return 0;
		}
	}
	if (unpriv && geteuid() == 0 && fchown(fd, 65534, 65534) != 0) {
		close(fd);
		return 0;
	}
	int ok = fchmod(fd, (mode_t)mode) == 0;
	close(fd);
	return ok;
}

REPRO_UNUSED static inline void remove_shm_name(void)
{
	if (!shm_used)
		return;
#if defined(__FreeBSD__)
	if (shm_name[0])
		shm_unlink(shm_name);
#else
	if (shm_dir_fd >= 0 && shm_name[0])
		unlinkat(shm_dir_fd, shm_name, 0);
	if (shm_dir[0])
		rmdir(shm_dir);
#endif
}

/* The lowest descriptor number not open now. */
REPRO_UNUSED static inline int lowest_free_fd(void)
{
	int fd = 0;
	while (fcntl(fd, F_GETFD) != -1)
		fd++;
	return fd;
}

/* shm_open as the suite's child makes it (exec/child.rs shm_open_call): FreeBSD's
 * shm_open(2); on Linux what glibc's shm_open(3) does, open(2) with O_NOFOLLOW|O_CLOEXEC. */
REPRO_UNUSED static inline int repro_shm_open(int oflag, unsigned mode)
{
#if defined(__FreeBSD__)
	return shm_open(shm_name, oflag, (mode_t)mode);
#else
	return openat(shm_dir_fd, shm_name, oflag | O_NOFOLLOW | O_CLOEXEC, (mode_t)mode);
#endif
}

REPRO_UNUSED static inline void remove_object(void)
{
	remove_shm_name();
	/* An append-only file cannot be unlinked: the attribute goes first. */
	if (object_kind == OBJ_FILE && object_attr == ATTR_APPEND_ONLY && object_path[0]) {
		int fd = open(object_path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
		if (fd >= 0) {
			set_append_only(fd, 0);
			close(fd);
		}
	}
	if (object_kind == OBJ_FILE || object_kind == OBJ_SHM)
		unlink(object_path);
	/* The noexec mount ended with the child's namespace: the directory is empty here. */
	if (noexec_dir[0])
		rmdir(noexec_dir);
	if (object_kind == OBJ_DIR)
		rmdir(object_path);
	if (work_dir[0])
		rmdir(work_dir);
}

REPRO_UNUSED static void on_stop(int sig)
{
	remove_object();
	signal(sig, SIG_DFL);
	raise(sig);
}

REPRO_UNUSED static inline int fill_object(int fd)
{
	if (ftruncate(fd, (off_t)object_size) != 0)
		return 0;
	for (uint64_t done = 0; done < object_size;) {
		ssize_t n = pwrite(fd, object_buf + done, (size_t)(object_size - done), (off_t)done);
		if (n <= 0)
			return 0;
		done += (uint64_t)n;
	}
	return 1;
}

/* Opens the object in the child, as the suite's child does. */
REPRO_UNUSED static inline int open_object(int open_flags, int seals, int second_flags)
{
	int fds[2] = { -1, -1 };
	switch (object_kind) {
	case OBJ_NONE:
		return 1;
	case OBJ_FILE:
		if (object_fs == FS_NOEXEC && !make_noexec_file())
			return 0;
		object_fd = open(object_path, open_flags);
		break;
	case OBJ_DIR:
		object_fd = open(object_path, O_RDONLY | O_DIRECTORY);
		break;
	case OBJ_DEV_ZERO:
	case OBJ_DEV_NULL:
	case OBJ_DEV_RANDOM:
		object_fd = open(object_path, open_flags);
		break;
	case OBJ_PIPE_READ:
	case OBJ_PIPE_WRITE:
	case OBJ_CLOSED_FD:
		if (pipe(fds) != 0)
			return 0;
		if (object_kind == OBJ_CLOSED_FD) {
			close(fds[0]);
			close(fds[1]);
			object_fd = fds[0]; /* a number that was a descriptor and is not now */
			return 1;
		}
		object_fd = object_kind == OBJ_PIPE_READ ? fds[0] : fds[1];
		break;
	case OBJ_SOCKET:
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0)
			return 0;
		object_fd = fds[0];
		break;
	case OBJ_TCP_SOCKET:
		object_fd = socket(AF_INET, SOCK_STREAM, 0);
		break;
	case OBJ_MEMFD:
		object_fd = memfd_create("mmapconf", MFD_ALLOW_SEALING);
		if (object_fd < 0 || !fill_object(object_fd))
			return 0;
		if (seals && fcntl(object_fd, F_ADD_SEALS, seals) != 0)
			return 0;
		break;
	case OBJ_SHM:
#if defined(__FreeBSD__)
		object_fd = shm_open(SHM_ANON, O_RDWR, 0600);
#else
		/* Linux's shm_open is open(2) under /dev/shm; done directly, unlinked at once. */
		object_fd = open(object_path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
		unlink(object_path);
#endif
		if (object_fd < 0 || !fill_object(object_fd))
			return 0;
		break;
	}
	(void)seals;
	/* A second descriptor of the same file, with other flags (object.second). */
	if (second_flags != -1 && object_fd >= 0) {
		second_fd = open(object_path, second_flags);
		if (second_fd < 0)
			return 0;
	}
	if (object_kind == OBJ_MEMFD || object_kind == OBJ_SHM)
		aux_fd = dup(object_fd);
	return object_fd >= 0;
}

/* A descriptor for file-level steps: a new one by path for files, the kept duplicate
 * for memfd and shm objects. */
REPRO_UNUSED static inline int file_fd(int flags)
{
	return object_kind == OBJ_FILE ? open(object_path, flags) : aux_fd;
}

REPRO_UNUSED static inline void done_with(int fd)
{
	if (fd != aux_fd && fd >= 0)
		close(fd);
}

/* A setup mapping; `fill` >= 0 is written before `prot` is applied. */
REPRO_UNUSED static inline int make_mapping(uintptr_t *slot, void *addr, size_t len, int prot, int flags,
                               int fd, off_t offset, int fill)
{
	int p0 = fill >= 0 ? PROT_READ | PROT_WRITE : prot;
	void *p = mmap(addr, len, p0, flags, fd, offset);
	if (p == MAP_FAILED)
		return 0;
	if (fill >= 0) {
		memset(p, fill, len);
		if (prot != p0 && mprotect(p, len, prot) != 0)
			return 0;
	}
	*slot = (uintptr_t)p;
	return 1;
}

/* mincore's vector: one byte per page, lazily backed, or NULL when none can be had. */
REPRO_UNUSED static inline void *new_vec(size_t len)
{
	size_t bytes = (size_t)((len / P) + (len % P != 0));
	void *v = mmap(NULL, bytes ? bytes : 1, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANON | REPRO_NORESERVE, -1, 0);
	return v == MAP_FAILED ? NULL : v;
}

REPRO_UNUSED static inline void make_mincore_vec(size_t len)
{
	mincore_vec_addr = new_vec(len);
	mincore_vec_len = (size_t)((len / P) + (len % P != 0));
}

REPRO_UNUSED static inline void *mincore_vec(size_t len)
{
	if (mincore_vec_addr && (size_t)((len / P) + (len % P != 0)) <= mincore_vec_len)
		return mincore_vec_addr;
	return new_vec(len);
}

/* A free range between two guard pages that stay mapped: private PROT_NONE pages advised
 * not to be dumped, a flag that keeps them from merging with what the case maps next to
 * them, so a VMA seen at the hole's edge is the case's own (the harness does the same). */
REPRO_UNUSED static inline int find_hole(size_t len)
{
	void *r = mmap(NULL, len + 2 * P, PROT_NONE, MAP_PRIVATE | MAP_ANON, -1, 0);
	if (r == MAP_FAILED)
		return 0;
	uintptr_t base = (uintptr_t)r;
#if defined(__FreeBSD__)
	madvise((void *)base, P, MADV_NOCORE);
	madvise((void *)(uintptr_t)(base + P + len), P, MADV_NOCORE);
#else
	madvise((void *)base, P, MADV_DONTDUMP);
	madvise((void *)(uintptr_t)(base + P + len), P, MADV_DONTDUMP);
#endif
	munmap((void *)(uintptr_t)(base + P), len);
	hole = base + P;
	return 1;
}

/* Whether a page of [addr, addr + len) is mapped in this process (Linux: mincore fails
 * with ENOMEM on an unmapped page); elsewhere 0, as in the harness. */
REPRO_UNUSED static inline int range_in_use(uintptr_t addr, uint64_t len)
{
#if defined(__linux__)
	unsigned char v;
	for (uint64_t at = 0; at < len; at += P)
		if (mincore((void *)(addr + (uintptr_t)at), (size_t)P, &v) == 0)
			return 1;
#else
	(void)addr;
	(void)len;
#endif
	return 0;
}

REPRO_UNUSED static inline int drop_privilege(void)
{
	return setgroups(0, NULL) == 0 && setgid(65534) == 0 && setuid(65534) == 0;
}

REPRO_UNUSED static inline int set_soft_limit(int res, uint64_t value)
{
	struct rlimit old, new;
	if (getrlimit(res, &old) != 0)
		return 0;
	new.rlim_cur = (rlim_t)value;
	new.rlim_max = old.rlim_max;
	return setrlimit(res, &new) == 0;
}

/* ---- Format v2: lock calls, mseal, PR_SET_MDWE, mincore per page, the lock count ---- */

#if defined(__linux__)
/* 462 in every architecture's table that has mseal (Linux 6.10, asm-generic/unistd.h). */
#include <sys/prctl.h>
#define REPRO_SYS_MSEAL 462
#ifndef PR_SET_MDWE
#define PR_SET_MDWE 65
#endif
REPRO_UNUSED static inline int repro_mlock2(void *addr, size_t len, int flags)
{
	return (int)syscall(SYS_mlock2, addr, len, (long)flags);
}
REPRO_UNUSED static inline int repro_mseal(void *addr, size_t len, int flags)
{
	return (int)syscall(REPRO_SYS_MSEAL, addr, len, (long)flags);
}
REPRO_UNUSED static inline int repro_mdwe(int flags)
{
	return (int)syscall(SYS_prctl, (long)PR_SET_MDWE, (long)flags, 0L, 0L, 0L);
}
/* process_madvise (Linux 5.10) and pidfd_open (5.3): 440 and 434 in the unified syscall
 * table every architecture of the matrix uses (asm-generic/unistd.h, syscall_64.tbl). */
#include <sys/uio.h>
#ifndef SYS_process_madvise
#define SYS_process_madvise 440
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
REPRO_UNUSED static int pmadv_pidfd = -1;
/* The call's pidfd, made in setup: this process's own (exited = 0), or that of a process
 * that exited and was waited for (exited = 1). -1 with errno set on failure. */
REPRO_UNUSED static inline int make_pidfd(int exited)
{
	if (!exited)
		return (int)syscall(SYS_pidfd_open, (long)getpid(), 0L);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(0);
	int fd = (int)syscall(SYS_pidfd_open, (long)pid, 0L);
	int st, e = errno;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	errno = e;
	return fd;
}
#endif

/* mincore over len bytes; page i must be resident (bit 0) exactly when want[i] is 1.
 * The first difference and the pages after it are recorded, as the suite records them. */
REPRO_UNUSED static inline void step_mincore(struct outcome *o, uintptr_t addr, size_t len,
                                             const unsigned char *want, unsigned pages)
{
	unsigned char vec[16] = { 0 };
	o->args[0] = addr;
	o->args[1] = len;
	set_ret(o, mincore((void *)addr, len, (void *)vec));
	if (o->state != ST_OK)
		return;
	for (unsigned i = 0; i < pages && i < sizeof vec; i++) {
		unsigned char got = vec[i] & 1;
		if (o->state == ST_BYTES_DIFFER) {
			if (o->got_len < sizeof o->got && (int64_t)i - o->at == (int64_t)o->got_len)
				o->got[o->got_len++] = got;
		} else if (got != want[i]) {
			o->state = ST_BYTES_DIFFER;
			o->at = (int64_t)i;
			o->got[0] = got;
			o->got_len = 1;
		}
	}
}

/* One /proc/self/maps line "START-END PERMS ...": 1 when it parses. */
REPRO_UNUSED static inline int maps_line(const char *l, const char *e, uint64_t *start, uint64_t *end,
                                         char perms[4])
{
	uint64_t v[2] = { 0, 0 };
	for (int k = 0; k < 2; k++) {
		const char *d = l;
		for (; l < e; l++) {
			int c = *l;
			int x = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
			if (x < 0)
				break;
			if (v[k] >> 60)
				return 0;
			v[k] = v[k] * 16 + (uint64_t)x;
		}
		if (l == d || l >= e || *l != (k == 0 ? '-' : ' '))
			return 0;
		l++;
	}
	if (e - l < 4)
		return 0;
	memcpy(perms, l, 4);
	*start = v[0];
	*end = v[1];
	return 1;
}

/* A vma step's outcome from the VMA found (or not): its extent relative to `addr` (`at`,
 * `size`) and permissions (`got`), and whether they are as given. The fourth character is
 * compared only where the kernel's record tells it (FreeBSD writes '?' where it cannot). */
REPRO_UNUSED static inline int vma_outcome(struct outcome *o, uintptr_t addr, int found, uint64_t s, uint64_t e,
                                           const char p[4], int has_start, uintptr_t start, int has_end,
                                           uintptr_t end, const char *perms)
{
	if (!found) {
		o->state = ST_VMA_DIFFERS;
		return 1;
	}
	o->at = (int64_t)(s - addr);
	o->size = (int64_t)(e - addr);
	memcpy(o->got, p, 4);
	o->got_len = 4;
	int same_perms = !perms || (memcmp(perms, p, 3) == 0 && (p[3] == '?' || perms[3] == p[3]));
	int same = (!has_start || start == s) && (!has_end || end == e) && same_perms;
	o->state = same ? ST_OK : ST_VMA_DIFFERS;
	return 1;
}

#if defined(__FreeBSD__)
/* The VMA containing `addr`: its kinfo_vmentry in sysctl {CTL_KERN, KERN_PROC,
 * KERN_PROC_VMMAP, pid}, records packed to kve_structsize (sys/kern/kern_proc.c
 * kern_proc_vmmap_out()), read into a static buffer and walked as the harness does
 * (exec/maps.rs kve_find): r, w, x from kve_protection, then 'p' for a copy-on-write entry
 * (KVME_FLAG_COW: a private mapping of an object, or an entry fork copied) and '?'
 * where the record does not tell private from shared. 0 when the sysctl fails (errno set;
 * ENOMEM: the list outgrew the buffer) or a record does not walk (EINVAL). */
REPRO_UNUSED static inline int step_vma(struct outcome *o, uintptr_t addr, int has_start, uintptr_t start,
                                        int has_end, uintptr_t end, const char *perms)
{
	static unsigned char buf[1 << 20];
	const size_t fixed = offsetof(struct kinfo_vmentry, kve_path);
	int mib[4] = { CTL_KERN, KERN_PROC, KERN_PROC_VMMAP, (int)getpid() };
	size_t len = sizeof buf, at = 0;
	int found = 0;
	uint64_t s = 0, e = 0;
	char p[4] = { 0 };
	o->args[0] = addr;
	o->args[1] = has_start ? start : 0;
	o->args[2] = has_end ? end : 0;
	if (sysctl(mib, 4, buf, &len, NULL, 0) != 0)
		return 0;
	while (at < len && !found) {
		struct kinfo_vmentry k;
		if (len - at < fixed) {
			errno = EINVAL;
			return 0;
		}
		memcpy(&k, buf + at, fixed);
		if (k.kve_structsize < (int)fixed || (size_t)k.kve_structsize > len - at) {
			errno = EINVAL;
			return 0;
		}
		if (k.kve_start <= addr && addr < k.kve_end) {
			s = k.kve_start;
			e = k.kve_end;
			p[0] = (k.kve_protection & KVME_PROT_READ) ? 'r' : '-';
			p[1] = (k.kve_protection & KVME_PROT_WRITE) ? 'w' : '-';
			p[2] = (k.kve_protection & KVME_PROT_EXEC) ? 'x' : '-';
			p[3] = (k.kve_flags & KVME_FLAG_COW) ? 'p' : '?';
			found = 1;
		}
		at += (size_t)k.kve_structsize;
	}
	return vma_outcome(o, addr, found, s, e, p, has_start, start, has_end, end, perms);
}
#else
/* Linux: the VMA containing `addr` (its /proc/self/maps line) must start at `start`, end at `end`
 * and show `perms`, each where given. Records its extent relative to `addr` (`at`, `size`)
 * and its permissions (`got`); 0 when the file cannot be read (errno set). */
REPRO_UNUSED static inline int step_vma(struct outcome *o, uintptr_t addr, int has_start, uintptr_t start,
                                        int has_end, uintptr_t end, const char *perms)
{
	char buf[8192];
	size_t filled = 0;
	int skipping = 0, found = 0;
	uint64_t s = 0, e = 0;
	char p[4];
	o->args[0] = addr;
	o->args[1] = has_start ? start : 0;
	o->args[2] = has_end ? end : 0;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	while (!found) {
		ssize_t r = read(fd, buf + filled, sizeof buf - filled);
		if (r < 0) {
			close(fd);
			return 0;
		}
		filled += (size_t)r;
		size_t i = 0;
		while (i < filled && !found) {
			char *nl = memchr(buf + i, '\n', filled - i);
			size_t line_end;
			if (nl)
				line_end = (size_t)(nl - buf);
			else if (r == 0 || (i == 0 && filled == sizeof buf))
				line_end = filled;
			else
				break;
			if (!skipping && maps_line(buf + i, buf + line_end, &s, &e, p) && s <= addr && addr < e)
				found = 1;
			skipping = !nl && r != 0;
			i = nl ? line_end + 1 : filled;
		}
		memmove(buf, buf + i, filled - i);
		filled -= i;
		if (r == 0)
			break;
	}
	close(fd);
	return vma_outcome(o, addr, found, s, e, p, has_start, start, has_end, end, perms);
}
#endif

/* The process's locked bytes (Linux: VmLck of /proc/self/status) must be `bytes`. */
REPRO_UNUSED static inline int step_locked(struct outcome *o, uint64_t bytes)
{
	char buf[8192];
	size_t done = 0;
	o->args[0] = bytes;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	for (;;) {
		ssize_t r = read(fd, buf + done, sizeof buf - 1 - done);
		if (r < 0) {
			close(fd);
			return 0;
		}
		done += (size_t)r;
		if (r == 0 || done == sizeof buf - 1)
			break;
	}
	close(fd);
	buf[done] = 0;
	const char *line = strstr(buf, "\nVmLck:");
	if (!line) {
		errno = ENOENT;
		return 0;
	}
	unsigned long long kib = strtoull(line + 7, NULL, 10);
	o->size = (int64_t)(kib * 1024);
	o->state = (uint64_t)o->size == bytes ? ST_OK : ST_SIZE_DIFFERS;
	return 1;
}

REPRO_UNUSED static inline void step_readback(struct outcome *o, int fd, off_t offset, size_t len,
                                 const struct check *c, int has_size, int64_t want_size)
{
	struct stat st;
	uint8_t buf[512];
	o->args[0] = (uint64_t)offset;
	o->args[1] = len;
	if (fd < 0 || fstat(fd, &st) != 0) {
		set_ret(o, -1);
		return;
	}
	o->state = ST_OK;
	o->size = (int64_t)st.st_size;
	if (has_size && want_size != o->size) {
		o->state = ST_SIZE_DIFFERS;
		return;
	}
	if (!c)
		return;
	for (size_t done = 0; done < len;) {
		size_t n = len - done < sizeof buf ? len - done : sizeof buf;
		ssize_t r = pread(fd, buf, n, offset + (off_t)done);
		if (r < 0) {
			set_ret(o, -1);
			return;
		}
		if (r == 0) {
			/* The file ends before the checked range does. */
			if (o->state == ST_OK) {
				o->state = ST_BYTES_DIFFER;
				o->at = (int64_t)done;
				o->got_len = 0;
			}
			return;
		}
		for (ssize_t k = 0; k < r; k++) {
			uint64_t i = (uint64_t)done + (uint64_t)k;
			note_byte(o, i, buf[k], expected_byte(c, i));
		}
		done += (size_t)r;
	}
}

REPRO_UNUSED static inline void step_pwrite(struct outcome *o, off_t offset, size_t len, uint8_t byte)
{
	uint8_t buf[256];
	int fd = file_fd(O_RDWR);
	int64_t r = 0;
	o->args[0] = (uint64_t)offset;
	o->args[1] = len;
	o->args[2] = byte;
	memset(buf, byte, sizeof buf);
	for (size_t done = 0; done < len;) {
		size_t n = len - done < sizeof buf ? len - done : sizeof buf;
		ssize_t w = pwrite(fd, buf, n, offset + (off_t)done);
		if (w <= 0) {
			r = -1;
			break;
		}
		done += (size_t)w;
	}
	set_ret(o, r);
	done_with(fd);
}

REPRO_UNUSED static inline void step_ftruncate(struct outcome *o, off_t size)
{
	int fd = file_fd(O_RDWR);
	o->args[0] = (uint64_t)size;
	set_ret(o, ftruncate(fd, size));
	done_with(fd);
}

/* ftruncate through the descriptor the call (shm_open) returned. */
REPRO_UNUSED static inline void step_ftruncate_fd(struct outcome *o, int fd, off_t size)
{
	o->args[0] = (uint64_t)size;
	set_ret(o, ftruncate(fd, size));
}

/* A field of the call's descriptor must equal `want`; 0 when fstat or fcntl failed. */
REPRO_UNUSED static inline int step_fd_stat(struct outcome *o, int fd, int field, int64_t want)
{
	struct stat st;
	int64_t v;
	int r;
	o->args[0] = (uint64_t)field;
	o->args[1] = (uint64_t)want;
	switch (field) {
	case FD_CLOEXEC_BIT:
	case FD_ACCMODE:
		r = fcntl(fd, field == FD_CLOEXEC_BIT ? F_GETFD : F_GETFL);
		if (r == -1)
			return 0;
		v = field == FD_CLOEXEC_BIT ? (r & FD_CLOEXEC) != 0 : (r & O_ACCMODE);
		break;
	case FD_LOWEST:
		v = fd == lowest_free;
		break;
	default:
		if (fstat(fd, &st) != 0)
			return 0;
		v = field == FD_SIZE ? (int64_t)st.st_size
		    : field == FD_MODE ? (int64_t)(st.st_mode & 07777)
		    : field == FD_UID ? (int64_t)st.st_uid : (int64_t)st.st_gid;
	}
	o->state = v == want ? ST_OK : ST_SIZE_DIFFERS;
	o->size = v;
	return 1;
}

REPRO_UNUSED static inline void step_close(struct outcome *o)
{
	o->args[0] = (uint64_t)(int64_t)object_fd;
	set_ret(o, close(object_fd));
	object_fd = -1;
}

/* ---- Format v2: the mapping as a system call's buffer ---- */

enum { IO_READ, IO_WRITE, IO_PREAD, IO_PWRITE };

/* read/write/pread/pwrite with [buf, buf+len) as the buffer, on the object's descriptor
 * or on a fresh pipe (never blocking on its write end; for reads it first holds len bytes
 * of `byte`, as many as fit). A success must return `count`. 0 when the pipe could not be
 * had (errno says why). */
REPRO_UNUSED static inline int step_io(struct outcome *o, int op, uintptr_t buf, size_t len, int which,
                                       off_t offset, uint64_t count, uint8_t byte)
{
	int p[2] = { -1, -1 };
	int use_pipe = which == 1; /* 0: the object's descriptor, 1: a pipe, 2: the second one */
	int fd = which == 2 ? second_fd : object_fd, reads = op == IO_READ || op == IO_PREAD;
	ssize_t r = -1;
	o->args[0] = buf;
	o->args[1] = len;
	o->args[2] = (uint64_t)offset;
	o->args[3] = count;
	if (use_pipe) {
		uint8_t chunk[256];
		int fl;
		if (pipe(p) != 0)
			return 0;
		fl = fcntl(p[1], F_GETFL);
		if (fl < 0 || fcntl(p[1], F_SETFL, fl | O_NONBLOCK) != 0)
			goto trouble;
		memset(chunk, byte, sizeof chunk);
		for (size_t done = 0; reads && done < len;) {
			size_t n = len - done < sizeof chunk ? len - done : sizeof chunk;
			ssize_t w = write(p[1], chunk, n);
			if (w < 0 && errno == EAGAIN)
				break; /* full: the read returns what it holds */
			if (w <= 0)
				goto trouble;
			done += (size_t)w;
		}
		fd = reads ? p[0] : p[1];
	}
	switch (op) {
	case IO_READ: r = read(fd, (void *)buf, len); break;
	case IO_WRITE: r = write(fd, (const void *)buf, len); break;
	case IO_PREAD: r = pread(fd, (void *)buf, len, offset); break;
	default: r = pwrite(fd, (const void *)buf, len, offset); break;
	}
	set_ret(o, (int64_t)r);
	if (o->state == ST_OK && o->ret != count)
		o->state = ST_COUNT_DIFFERS;
	if (use_pipe) {
		close(p[0]);
		close(p[1]);
	}
	return 1;
trouble: {
		int e = errno;
		close(p[0]);
		close(p[1]);
		errno = e;
		return 0;
	}
}

/* ---- Format v2: code placed in a mapping and called ---- */

/* This architecture's return instruction, as bytes in memory. */
#if defined(__x86_64__)
REPRO_UNUSED static const unsigned char RET_INSN[] = { 0xc3 };
#define REPRO_HAS_RET 1
#elif defined(__aarch64__) && defined(__AARCH64EL__)
REPRO_UNUSED static const unsigned char RET_INSN[] = { 0xc0, 0x03, 0x5f, 0xd6 };
#define REPRO_HAS_RET 1
#elif defined(__riscv) && __riscv_xlen == 64
REPRO_UNUSED static const unsigned char RET_INSN[] = { 0x67, 0x80, 0x00, 0x00 };
#define REPRO_HAS_RET 1
#else
REPRO_UNUSED static const unsigned char RET_INSN[] = { 0 };
#define REPRO_HAS_RET 0
#endif

/* Writes the return instruction at base (a probe per byte), then makes it visible to
 * instruction fetch (__builtin___clear_cache: dc cvau/ic ivau on aarch64, the kernel's
 * icache flush and fence.i on riscv64, nothing on x86_64). 0 where this architecture's
 * return instruction is unknown (errno ENOSYS). */
REPRO_UNUSED static inline int step_write_ret(struct outcome *o, uintptr_t base)
{
	o->args[0] = base;
	o->args[1] = sizeof RET_INSN;
	if (!REPRO_HAS_RET) {
		errno = ENOSYS;
		return 0;
	}
	o->state = ST_OK;
	for (size_t i = 0; i < sizeof RET_INSN; i++) {
		if (!probe_write(base + i, RET_INSN[i])) {
			record_fault(o, base);
			return 1;
		}
	}
	__builtin___clear_cache((char *)base, (char *)base + sizeof RET_INSN);
	return 1;
}

/* Calls base as a function: ok when it returns, or the fault fetching it raised. */
REPRO_UNUSED static inline void step_exec(struct outcome *o, uintptr_t base)
{
	void (*volatile fn)(void) = (void (*)(void))base;
	o->args[0] = base;
	if (sigsetjmp(probe_env, 1)) {
		record_fault(o, base);
		return;
	}
	in_probe = 1;
#if defined(__x86_64__)
	/* With rax zero, as the harness calls it: where PROT_EXEC is not enforced (UML) the
	 * page's zeros run as `add %al,(%rax)` and fault at address 0 in both, instead of
	 * wherever the compiler's call left rax (here: the page itself, a fault that looked
	 * like the refused fetch). Below the red zone, which `call` would overwrite. */
	(void)fn;
	__asm__ volatile("lea -128(%%rsp), %%rsp\n\txor %%eax, %%eax\n\tcall *%0\n\tlea 128(%%rsp), %%rsp"
	                 : : "r"(base) : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "cc", "memory");
#else
	fn();
#endif
	in_probe = 0;
	o->state = ST_OK;
}

/* ---- Steps after a fork step alternate by a baton passed through a pipe per process ---- */

/* Each process (0 parent, 1 child, 2 the grandchild a second fork step in the child makes)
 * has a baton pipe; all three are made before the first fork so that each process can hand
 * the baton to any other. The holder writes a byte to the pipe of the next step's process.
 * A process that stopped early keeps handing the baton on, running nothing. */
REPRO_UNUSED static int forked, has_baton = 1, me_who, proxy, stopped;
REPRO_UNUSED static int inbox[3][2] = { { -1, -1 }, { -1, -1 }, { -1, -1 } };
REPRO_UNUSED static pid_t fork_pid;

REPRO_UNUSED static inline void pass_baton(int tx)
{
	char b = 1;
	if (write(tx, &b, 1) < 0) { /* the other side has ended: nothing to hand over */ }
}

REPRO_UNUSED static inline void wait_baton(int rx)
{
	char b;
	while (read(rx, &b, 1) < 0 && errno == EINTR) {
	}
}

/* Before a step made by `who`: 1 when this process runs it, 0 to skip it. */
REPRO_UNUSED static inline int my_turn(int who)
{
	if (forked) {
		int mine = who == me_who || (proxy && who == 2);
		if (!mine) {
			if (has_baton) {
				pass_baton(inbox[who][1]);
				has_baton = 0;
			}
			return 0;
		}
		if (!has_baton) {
			wait_baton(inbox[who][0]);
			has_baton = 1;
		}
	}
	return !stopped && who == me_who;
}

/* A fork step (the first in the parent, a second in the child): 1 to go on, 0 when the
 * first fork failed. A second fork that fails stops the child, which then takes the
 * grandchild's turns. */
REPRO_UNUSED static inline int step_fork(unsigned i)
{
	int second = forked;
	if (!second)
		for (int k = 0; k < 3; k++)
			if (pipe(inbox[k]) != 0) {
				fail_stage(STAGE_FORK, i);
				return 0;
			}
	pid_t pid = fork();
	if (pid < 0) {
		fail_stage(STAGE_FORK, i);
		if (!second)
			return 0;
		proxy = stopped = 1;
		return 1;
	}
	forked = 1;
	rec->steps[i].state = ST_OK;
	if (second)
		rec->grandchild = 1;
	else
		rec->forked = 1;
	if (pid == 0) {
		me_who = second ? 2 : 1;
		has_baton = 0;
		fork_pid = 0;
	} else {
		fork_pid = pid;
	}
	return 1;
}

REPRO_UNUSED static inline void end_steps(void)
{
	if (!forked || fork_pid <= 0)
		return;
	int status = 0;
	for (int k = 0; k < 3; k++)
		if (k != me_who)
			close(inbox[k][1]);
	waitpid(fork_pid, &status, 0);
	if (me_who == 0)
		rec->fork_status = status;
	else
		rec->grandchild_status = status;
}

/* ---- Running the case in a forked child, with the case's timeout ---- */

enum { END_EXITED, END_SIGNALED, END_HUNG, END_BROKEN };
REPRO_UNUSED static int end_kind, end_value;

REPRO_UNUSED static inline void spawn(void (*child)(void), int timeout_ms)
{
	int p[2];
	rec = mmap(NULL, sizeof *rec, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANON, -1, 0);
	if (rec == MAP_FAILED || pipe(p) != 0) {
		perror("setup");
		end_kind = END_BROKEN;
		return;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		setpgid(0, 0);
		child();
		_exit(0);
	}
	close(p[1]);
	if (pid < 0) {
		perror("fork");
		end_kind = END_BROKEN;
		return;
	}
	setpgid(pid, pid);
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		long left = timeout_ms - (long)((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0) {
			end_kind = END_HUNG;
			break;
		}
		struct pollfd pfd = { p[0], POLLIN, 0 };
		int r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			continue;
		char buf[64];
		ssize_t n = read(p[0], buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
	}
	close(p[0]);
	kill(-pid, SIGKILL); /* also ends processes a fork step made */
	int status = 0;
	pid_t w = waitpid(pid, &status, 0);
	if (end_kind == END_HUNG)
		return;
	if (w < 0) {
		end_kind = END_BROKEN;
	} else if (WIFEXITED(status)) {
		end_kind = END_EXITED;
		end_value = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status)) {
		end_kind = END_SIGNALED;
		end_value = WTERMSIG(status);
	} else {
		end_kind = END_BROKEN;
	}
}

/* ---- Names, for the readable lines and the JSON ---- */

REPRO_UNUSED static inline const char *name_in(const struct repro_name *t, size_t n, int v)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].value == v)
			return t[i].name;
	return NULL;
}

REPRO_UNUSED static inline void errno_name(char *buf, size_t n, int v)
{
	const char *s = name_in(ERRNO_NAMES, sizeof ERRNO_NAMES / sizeof ERRNO_NAMES[0], v);
	if (s)
		snprintf(buf, n, "%s", s);
	else
		snprintf(buf, n, "errno %d", v);
}

REPRO_UNUSED static inline void signal_name(char *buf, size_t n, int v)
{
	const char *s = name_in(SIGNAL_NAMES, sizeof SIGNAL_NAMES / sizeof SIGNAL_NAMES[0], v);
	if (s)
		snprintf(buf, n, "%s", s);
	else
		snprintf(buf, n, "signal %d", v);
}

REPRO_UNUSED static inline void code_name(char *buf, size_t n, int signo, int code)
{
	const char *s = NULL;
	if (signo == SIGSEGV && code == SEGV_MAPERR) s = "SEGV_MAPERR";
	if (signo == SIGSEGV && code == SEGV_ACCERR) s = "SEGV_ACCERR";
	if (signo == SIGBUS && code == BUS_ADRALN) s = "BUS_ADRALN";
	if (signo == SIGBUS && code == BUS_ADRERR) s = "BUS_ADRERR";
	if (signo == SIGBUS && code == BUS_OBJERR) s = "BUS_OBJERR";
	if (s)
		snprintf(buf, n, "%s", s);
	else
		snprintf(buf, n, "si_code %d", code);
}

REPRO_UNUSED static inline void rel(char *buf, size_t n, int64_t v)
{
	if (v < 0)
		snprintf(buf, n, "-0x%llx", (unsigned long long)(-(uint64_t)v));
	else
		snprintf(buf, n, "+0x%llx", (unsigned long long)v);
}

/* Where a successful mmap or mremap put its mapping, relative to its arguments. */
REPRO_UNUSED static inline const char *placement(const struct outcome *o, int kind)
{
	if (kind == K_MMAP) {
		if (o->args[0] != 0 && o->ret == o->args[0])
			return "at addr";
		return o->ret % P == o->args[5] % P ? "page aligned" : "not page aligned";
	}
	if (o->ret == o->args[0])
		return "at old_address";
	if (o->args[4] != 0 && o->ret == o->args[4])
		return "at new_address";
	return "moved";
}

/* The outcome in words, for the readable lines. */
REPRO_UNUSED static inline void outcome_text(char *buf, size_t n, const struct outcome *o)
{
	char a[64], b[64];
	switch (o->state) {
	case ST_OK: snprintf(buf, n, "ok"); break;
	case ST_ERRNO: errno_name(a, sizeof a, o->err); snprintf(buf, n, "%s", a); break;
	case ST_FAULT:
		signal_name(a, sizeof a, o->signo);
		code_name(b, sizeof b, o->signo, o->code);
		snprintf(buf, n, "%s %s at %s0x%llx", a, b, o->fault_off < 0 ? "-" : "+",
		         (unsigned long long)(o->fault_off < 0 ? -(uint64_t)o->fault_off : (uint64_t)o->fault_off));
		break;
	case ST_BYTES_DIFFER:
		snprintf(buf, n, "bytes differ at +0x%llx (%u shown in the JSON)", (unsigned long long)o->at, o->got_len);
		break;
	case ST_SIZE_DIFFERS: snprintf(buf, n, "file size %lld", (long long)o->size); break;
	case ST_COUNT_DIFFERS:
		snprintf(buf, n, "returned %llu (expected %llu)", (unsigned long long)o->ret,
		         (unsigned long long)o->args[3]);
		break;
	case ST_VMA_DIFFERS:
		if (o->got_len < 4) {
			snprintf(buf, n, "no VMA contains the address");
			break;
		}
		rel(a, sizeof a, o->at);
		rel(b, sizeof b, o->size);
		snprintf(buf, n, "VMA [%s, %s) %.4s", a, b, (const char *)o->got);
		break;
	default: snprintf(buf, n, "not run"); break;
	}
}

/* A vma step's VMA, as `,"vma":{...}` (or "none"). */
REPRO_UNUSED static inline void json_vma(const struct outcome *o)
{
	char a[64], b[64];
	if (o->got_len < 4) {
		printf(",\"vma\":\"none\"");
		return;
	}
	rel(a, sizeof a, o->at);
	rel(b, sizeof b, o->size);
	printf(",\"vma\":{\"start\":\"%s\",\"end\":\"%s\",\"perms\":\"%.4s\"}", a, b, (const char *)o->got);
}

REPRO_UNUSED static inline void json_outcome(const struct outcome *o, int kind)
{
	char a[64], b[64];
	switch (o->state) {
	case ST_OK:
		printf("{\"state\":\"ok\"");
		if (kind == K_MMAP || kind == K_MREMAP)
			printf(",\"placed\":\"%s\"", placement(o, kind));
		if (kind == K_READBACK)
			printf(",\"size\":%lld", (long long)o->size);
		if (kind == K_BUFFER)
			printf(",\"count\":%llu", (unsigned long long)o->ret);
		if (kind == K_VMA)
			json_vma(o);
		printf("}");
		break;
	case ST_VMA_DIFFERS:
		printf("{\"state\":\"vma differs\"");
		json_vma(o);
		printf("}");
		break;
	case ST_COUNT_DIFFERS:
		printf("{\"state\":\"count differs\",\"count\":%llu}", (unsigned long long)o->ret);
		break;
	case ST_ERRNO:
		errno_name(a, sizeof a, o->err);
		printf("{\"state\":\"errno\",\"errno\":\"%s\"}", a);
		break;
	case ST_FAULT:
		signal_name(a, sizeof a, o->signo);
		code_name(b, sizeof b, o->signo, o->code);
		printf("{\"state\":\"fault\",\"signal\":\"%s\",\"code\":\"%s\",", a, b);
		/* A gigabyte or more away: wherever a register pointed (observation.rs). */
		if ((o->fault_off < 0 ? -(uint64_t)o->fault_off : (uint64_t)o->fault_off) >= ((uint64_t)1 << 30))
			snprintf(a, sizeof a, "far (1 GiB or more)");
		else
			rel(a, sizeof a, o->fault_off);
		printf("\"at\":\"%s\"}", a);
		break;
	case ST_BYTES_DIFFER:
		rel(a, sizeof a, o->at);
		printf("{\"state\":\"bytes differ\",\"at\":\"%s\",\"got\":\"", a);
		for (unsigned i = 0; i < o->got_len && i < sizeof o->got; i++)
			printf("%s%02x", i ? " " : "", o->got[i]);
		printf("\"}");
		break;
	case ST_SIZE_DIFFERS:
		/* 64 MiB or more is a whole process's lock count, not the case's (observation.rs). */
		if (o->size >= ((int64_t)64 << 20))
			printf("{\"state\":\"size differs\",\"size\":\"64 MiB or more\"}");
		else
			printf("{\"state\":\"size differs\",\"size\":%lld}", (long long)o->size);
		break;
	default:
		printf("{\"state\":\"not run\"}");
		break;
	}
}

/* Whether the outcome is the expected one (errnos, signals and si_codes by value). */
REPRO_UNUSED static inline int matches(const struct outcome *o, const struct expect *e)
{
	switch (e->kind) {
	case E_OK: return o->state == ST_OK;
	case E_ERRNO:
		if (o->state != ST_ERRNO)
			return 0;
		for (int i = 0; i < e->n_errnos; i++)
			if (e->errnos[i] == o->err)
				return 1;
		return 0;
	case E_FAULT:
		return o->state == ST_FAULT && o->signo == e->signo && (e->code == -1 || e->code == o->code);
	case E_OBSERVE: return o->state != ST_NOT_RUN;
	default:
		if (o->state != ST_BYTES_DIFFER || o->got_len == 0 || e->bytes_kind == B_OBJECT)
			return 0;
		for (unsigned i = 0; i < o->got_len && i < sizeof o->got; i++)
			if (o->got[i] != (e->bytes_kind == B_ZEROS ? 0 : e->byte))
				return 0;
		return 1;
	}
}

enum { V_PASS, V_KNOWN_DEVIATION, V_FAIL, V_SETUP_FAILED, V_OBSERVED };
static const char *const VERDICT_NAME[] = { "pass", "known deviation", "fail", "setup failed",
                                            "observed" };

/* The numbers of a kernel release ("6.1.0-13-amd64": 6, 1, 0, 13), as the suite reads
 * them: each part between '.', '-' and '+' gives its leading digits, up to the first part
 * without any. */
static int release_parts(const char *s, unsigned long long *part, int max)
{
	int n = 0;
	while (n < max && *s >= '0' && *s <= '9') {
		unsigned long long v = 0;
		while (*s >= '0' && *s <= '9')
			v = v * 10 + (unsigned long long)(*s++ - '0');
		part[n++] = v;
		while (*s && *s != '.' && *s != '-' && *s != '+')
			s++;
		if (!*s)
			break;
		s++;
	}
	return n;
}

/* -1, 0 or 1 as release A sorts before, with or after B (part by part, then length). */
static int release_cmp(const unsigned long long *a, int na, const unsigned long long *b, int nb)
{
	for (int i = 0; i < na && i < nb; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return na < nb ? -1 : na > nb;
}

/* Whether the running kernel's release lies in RANGE ("<6.17", ">=6.1,<6.12"): the
 * releases a recorded deviation holds for. */
REPRO_UNUSED static int release_in(const char *range)
{
	struct utsname u;
	unsigned long long have[16], want[16];
	if (uname(&u) != 0)
		return 0;
	int nh = release_parts(u.release, have, 16);
	while (*range) {
		const char *op = range;
		int len = (range[1] == '=') ? 2 : 1;
		const char *v = range + len;
		while (*v == ' ')
			v++;
		int nw = release_parts(v, want, 16);
		int c = release_cmp(have, nh, want, nw);
		int holds = op[0] == '<' ? (len == 2 ? c <= 0 : c < 0)
			  : op[0] == '>' ? (len == 2 ? c >= 0 : c > 0)
			  : c == 0;
		if (!holds)
			return 0;
		range = strchr(range, ',');
		if (!range)
			break;
		range++;
		while (*range == ' ')
			range++;
	}
	return 1;
}

/* The architecture this file was compiled for, in Rust's target_arch spelling (the
 * names a case file uses). */
REPRO_UNUSED static const char *build_arch(void)
{
#if defined(__x86_64__)
	return "x86_64";
#elif defined(__i386__)
	return "x86";
#elif defined(__aarch64__)
	return "aarch64";
#elif defined(__arm__)
	return "arm";
#elif defined(__powerpc64__)
	return "powerpc64";
#elif defined(__s390x__)
	return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
	return "riscv64";
#elif defined(__loongarch64)
	return "loongarch64";
#else
	return "unknown";
#endif
}

/* Whether this build's architecture is one of LIST ("x86,arm"). */
REPRO_UNUSED static int arch_in(const char *list)
{
	const char *me = build_arch();
	size_t n = strlen(me);
	for (const char *p = list; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (strncmp(p, me, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return 1;
	return 0;
}

/* Whether the process runs with ABI ("native64", "native32", "compat32"): a 32-bit build
 * is compat where the kernel's machine (uname -m) is a 64-bit one. */
REPRO_UNUSED static int abi_is(const char *abi)
{
	struct utsname u;
	const char *now = "native64";
	if (sizeof(void *) == 4) {
		now = "native32";
		if (uname(&u) == 0 && (strstr(u.machine, "64") || strcmp(u.machine, "armv8l") == 0 ||
					 strcmp(u.machine, "s390x") == 0))
			now = "compat32";
	}
	return strcmp(now, abi) == 0;
}

/* The judge's rule: the clause's outcome passes; a recorded deviation's is known. */
REPRO_UNUSED static inline int judge_one(const struct outcome *o, const struct expect *want, const struct expect *dev)
{
	if (matches(o, want))
		return want->kind == E_OBSERVE ? V_OBSERVED : V_PASS;
	if (dev && matches(o, dev))
		return V_KNOWN_DEVIATION;
	return V_FAIL;
}

REPRO_UNUSED static inline int worse(int a, int b)
{
	if (a == V_FAIL || b == V_FAIL)
		return V_FAIL;
	if (a == V_KNOWN_DEVIATION || b == V_KNOWN_DEVIATION)
		return V_KNOWN_DEVIATION;
	if (a == V_OBSERVED || b == V_OBSERVED)
		return V_OBSERVED;
	return V_PASS;
}

REPRO_UNUSED static inline void print_line(const char *what, const char *c, const struct outcome *o,
                              const struct expect *want, const struct expect *dev, int v)
{
	char got[160];
	outcome_text(got, sizeof got, o);
	printf("%s: %s\n    args %#llx, %#llx, %#llx, %#llx, %#llx, %#llx\n    expected %s%s%s, got %s: %s\n",
	       what, c, (unsigned long long)o->args[0], (unsigned long long)o->args[1],
	       (unsigned long long)o->args[2], (unsigned long long)o->args[3],
	       (unsigned long long)o->args[4], (unsigned long long)o->args[5], want->text,
	       dev ? " (known deviation: " : "", dev ? dev->text : "", got, VERDICT_NAME[v]);
	if (dev)
		printf("    (the deviation's outcome is %s)\n", dev->text);
}

/* The whole observation as one JSON line, then the exit status by the verdict. */
REPRO_UNUSED static inline int finish(const char *id, int n_steps, const int *kinds, int call_kind, int verdict)
{
	char a[64];
	printf("{\"case\":\"%s\"", id);
	switch (end_kind) {
	case END_EXITED: printf(",\"end\":\"exited %d\"", end_value); break;
	case END_SIGNALED: signal_name(a, sizeof a, end_value); printf(",\"end\":\"killed by %s\"", a); break;
	case END_HUNG: printf(",\"end\":\"hang\""); break;
	default: printf(",\"end\":\"broken\""); break;
	}
	int have = end_kind == END_EXITED && end_value == 0;
	if (have && rec->failed_stage != STAGE_DONE) {
		errno_name(a, sizeof a, rec->failed_errno);
		printf(",\"setup\":{\"stage\":\"%s\",\"index\":%u,\"errno\":\"%s\"}",
		       STAGE_NAME[rec->failed_stage < STAGE_COUNT ? rec->failed_stage : 0], rec->failed_index, a);
	} else if (have) {
		printf(",\"setup\":\"ok\",\"call\":");
		json_outcome(&rec->call, call_kind);
		printf(",\"steps\":[");
		for (int i = 0; i < n_steps; i++) {
			if (i)
				printf(",");
			json_outcome(&rec->steps[i], kinds[i]);
		}
		printf("]");
		if (rec->forked) {
			if (WIFSIGNALED(rec->fork_status)) {
				signal_name(a, sizeof a, WTERMSIG(rec->fork_status));
				printf(",\"fork\":\"killed by %s\"", a);
			} else {
				printf(",\"fork\":\"exited %d\"", WEXITSTATUS(rec->fork_status));
			}
		}
		if (rec->grandchild) {
			if (WIFSIGNALED(rec->grandchild_status)) {
				signal_name(a, sizeof a, WTERMSIG(rec->grandchild_status));
				printf(",\"grandchild\":\"killed by %s\"", a);
			} else {
				printf(",\"grandchild\":\"exited %d\"", WEXITSTATUS(rec->grandchild_status));
			}
		}
	}
	printf(",\"verdict\":\"%s\"}\n", VERDICT_NAME[verdict]);
	return verdict == V_SETUP_FAILED ? 2 : verdict == V_FAIL ? 1 : 0;
}

/* ---- This case ---- */

static uintptr_t map_m;
static const struct expect want_call = { E_ERRNO, { ENOMEM }, 1, 0, -1, 0, 0, "ENOMEM" };
static const struct expect want_0 = { E_ERRNO, { ENOMEM }, 1, 0, -1, 0, 0, "ENOMEM" };
static const struct expect want_1 = { E_OK, { 0 }, 0, 0, -1, 0, 0, "ok" };
static const struct expect want_2 = { E_OK, { 0 }, 0, 0, -1, 0, 0, "ok" };
static const struct expect want_3 = { E_ERRNO, { EPERM }, 1, 0, -1, 0, 0, "EPERM" };

/* Runs in the forked child: setup, the call, the steps. */
static void run_case(void)
{
	if (!install_handlers()) {
		fail_stage(STAGE_SIGNALS, 0);
		return;
	}
	if (!open_object(0, 0, -1)) {
		fail_stage(STAGE_OBJECT, 0);
		return;
	}
	/* Mappings without `at` first, so that they cannot land in the hole. */
	/* mapping "m" */
	if (!make_mapping(&map_m, NULL, 4*P, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0, 0xaa)) {
		fail_stage(STAGE_MAPPING, 0);
		return;
	}
	if (!find_hole(64*P)) {
		fail_stage(STAGE_HOLE, 0);
		return;
	}
	/* setup call 1: munmap((void *)(uintptr_t)(map_m + 1*P), 2*P) */
	{
		struct outcome so = { 0 }, *o = &so;
		void *addr = (void *)(uintptr_t)(map_m + 1*P);
		size_t len = 2*P;
		int r = munmap(addr, len);
		SET_ARGS(o, (uintptr_t)addr, len, 0, 0, 0, 0);
		set_ret(o, r);
		if (so.state != ST_OK) {
			errno = so.err;
			fail_stage(STAGE_SETUP, 0);
			return;
		}
	}
	/* The call under test. */
	{
		struct outcome *o = &rec->call;
		void *addr = (void *)(uintptr_t)(map_m);
		size_t len = 4*P;
		int r = repro_mseal(addr, len, 0);
		SET_ARGS(o, (uintptr_t)addr, len, 0, 0, 0, 0);
		set_ret(o, r);
	}
	/* The call is expected to fail: the steps show what it left in place. */
	if (!(rec->call.state == ST_OK || rec->call.state == ST_ERRNO))
		return;
	/* step 1: mprotect((void *)(uintptr_t)(map_m), 4*P, PROT_READ|PROT_WRITE) */
	if (my_turn(0)) {
		struct outcome *o = &rec->steps[0];
		void *addr = (void *)(uintptr_t)(map_m);
		size_t len = 4*P;
		int r = kernel_mprotect(addr, len, PROT_READ|PROT_WRITE);
		SET_ARGS(o, (uintptr_t)addr, len, PROT_READ|PROT_WRITE, 0, 0, 0);
		set_ret(o, r);
	}
	/* step 2: mseal((void *)(uintptr_t)(map_m), 1*P, 0) */
	if (my_turn(0)) {
		struct outcome *o = &rec->steps[1];
		void *addr = (void *)(uintptr_t)(map_m);
		size_t len = 1*P;
		int r = repro_mseal(addr, len, 0);
		SET_ARGS(o, (uintptr_t)addr, len, 0, 0, 0, 0);
		set_ret(o, r);
	}
	/* step 3: mseal((void *)(uintptr_t)(map_m + 3*P), 1*P, 0) */
	if (my_turn(0)) {
		struct outcome *o = &rec->steps[2];
		void *addr = (void *)(uintptr_t)(map_m + 3*P);
		size_t len = 1*P;
		int r = repro_mseal(addr, len, 0);
		SET_ARGS(o, (uintptr_t)addr, len, 0, 0, 0, 0);
		set_ret(o, r);
	}
	/* step 4: munmap((void *)(uintptr_t)(map_m + 3*P), 1*P) */
	if (my_turn(0)) {
		struct outcome *o = &rec->steps[3];
		void *addr = (void *)(uintptr_t)(map_m + 3*P);
		size_t len = 1*P;
		int r = munmap(addr, len);
		SET_ARGS(o, (uintptr_t)addr, len, 0, 0, 0, 0);
		set_ret(o, r);
	}
	end_steps();
}

/* Judges the record as the suite's judge does; prints a line per step. */
static int judge(void)
{
	int v;
	if (end_kind != END_EXITED || end_value != 0) {
		printf("the child ended abnormally (no observation)\n");
		return V_FAIL;
	}
	if (rec->failed_stage != STAGE_DONE) {
		char e[64];
		errno_name(e, sizeof e, rec->failed_errno);
		printf("setup failed at %s #%u: %s\n", STAGE_NAME[rec->failed_stage < STAGE_COUNT ? rec->failed_stage : 0], rec->failed_index, e);
		return V_SETUP_FAILED;
	}
	const struct expect *dev_call = (NULL);
	v = judge_one(&rec->call, &want_call, dev_call);
	print_line("call", "mseal((void *)(uintptr_t)(map_m), 4*P, 0)", &rec->call, &want_call, dev_call, v);
	if (!(rec->call.state == ST_OK || rec->call.state == ST_ERRNO))
		return v;
	{
		const struct expect *dev = (NULL);
		int s = judge_one(&rec->steps[0], &want_0, dev);
		print_line("step 1", "mprotect((void *)(uintptr_t)(map_m), 4*P, PROT_READ|PROT_WRITE)", &rec->steps[0], &want_0, dev, s);
		v = worse(v, s);
	}
	{
		const struct expect *dev = (NULL);
		int s = judge_one(&rec->steps[1], &want_1, dev);
		print_line("step 2", "mseal((void *)(uintptr_t)(map_m), 1*P, 0)", &rec->steps[1], &want_1, dev, s);
		v = worse(v, s);
	}
	{
		const struct expect *dev = (NULL);
		int s = judge_one(&rec->steps[2], &want_2, dev);
		print_line("step 3", "mseal((void *)(uintptr_t)(map_m + 3*P), 1*P, 0)", &rec->steps[2], &want_2, dev, s);
		v = worse(v, s);
	}
	{
		const struct expect *dev = (NULL);
		int s = judge_one(&rec->steps[3], &want_3, dev);
		print_line("step 4", "munmap((void *)(uintptr_t)(map_m + 3*P), 1*P)", &rec->steps[3], &want_3, dev, s);
		v = worse(v, s);
	}
	if (rec->forked && WIFSIGNALED(rec->fork_status)) {
		char n[32];
		signal_name(n, sizeof n, WTERMSIG(rec->fork_status));
		printf("the process made by the fork step died of %s\n", n);
		v = V_FAIL;
	}
	if (rec->grandchild && WIFSIGNALED(rec->grandchild_status)) {
		char n[32];
		signal_name(n, sizeof n, WTERMSIG(rec->grandchild_status));
		printf("the grandchild made by the second fork step died of %s\n", n);
		v = V_FAIL;
	}
	return v;
}

int main(void)
{
	static const int kinds[] = { K_OTHER, K_OTHER, K_OTHER, K_OTHER };
	long page = sysconf(_SC_PAGESIZE);
	if (page <= 0) {
		perror("sysconf(_SC_PAGESIZE)");
		return 2;
	}
	P = (uint64_t)page;
	TOP = user_top();
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("%s: page size %#llx, address space end %#llx\n", CASE_ID, (unsigned long long)P, (unsigned long long)TOP);
	if (LACKING[0]) {
		for (size_t i = 0; LACKING[i]; i++)
			fprintf(stderr, "this libc does not define %s\n", LACKING[i]);
		return 2;
	}
	signal(SIGINT, on_stop);
	signal(SIGTERM, on_stop);
	if (!prepare_object(OBJ_NONE, FS_DISK, ATTR_NONE, 0, C_SEQ, 0)) {
		remove_object();
		fprintf(stderr, "setup: preparing the object failed\n");
		return 2;
	}
	spawn(run_case, 5000);
	remove_object();
	int v = judge();
	printf("verdict: %s\n", VERDICT_NAME[v]);
	return finish(CASE_ID, 4, kinds, K_OTHER, v);
}
