// exec_failed_memory: an execve that fails once the kernel has started on
// the new program (its interpreter is missing; an argument is too long)
// returns the error to a program whose memory is untouched: heap, stack,
// data, a private file mapping, a read-only page and memory shared with
// the parent keep their contents and protections, and stay shared. Then a
// good execve replaces the program. The child runs alone in its process,
// where the sandbox may load the new program into the same host process.
//
//go:build ignore

#include "task_check.h"

#include <signal.h>
#include <setjmp.h>
#include <sys/wait.h>

static char data_pattern[3 * 4096] = {1};
static sigjmp_buf segv_jump;

static void on_segv(int sig) {
	(void)sig;
	siglongjmp(segv_jump, 1);
}

// fill and check patterns of each region.
static void fill(unsigned char *p, size_t n, unsigned char seed) {
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(seed + i * 7);
}

static int intact(const unsigned char *p, size_t n, unsigned char seed) {
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char)(seed + i * 7))
			return 0;
	return 1;
}

// bad_interp_copy writes a copy of /bin/true whose PT_INTERP names a file
// that does not exist, and returns its path.
static char *bad_interp_copy(void) {
	int in = open("/bin/true", O_RDONLY);
	CHECK(in >= 0);
	static char buf[4 << 20];
	ssize_t n = read(in, buf, sizeof buf);
	CHECK(n > 0 && n < (ssize_t)sizeof buf);
	close(in);
	const char *interp = "/lib64/ld-linux-x86-64.so.2";
	char *at = memmem(buf, n, interp, strlen(interp));
	CHECK(at != NULL);
	at[strlen(interp) - 1] = 'X';
	static char path[] = "/tmp/exec_failed_XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, buf, n), n);
	CHECK_OK(fchmod(fd, 0755));
	CHECK_OK(close(fd));
	return path;
}

int main(int argc, char **argv) {
	(void)argc;
	(void)argv;
	char *bad = bad_interp_copy();
	unsigned char *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(shared != MAP_FAILED);
	int go[2], done[2];
	CHECK_OK(pipe(go));
	CHECK_OK(pipe(done));
	pid_t pid = XFORK();
	if (pid == 0) {
		size_t heap_len = 1 << 20;
		unsigned char *heap = malloc(heap_len);
		CHECK(heap != NULL);
		unsigned char stack[8192];
		fill(heap, heap_len, 11);
		fill(stack, sizeof stack, 22);
		fill((unsigned char *)data_pattern, sizeof data_pattern, 33);
		fill(shared, 4096, 44);
		int fd = open("/bin/true", O_RDONLY);
		CHECK(fd >= 0);
		unsigned char *file = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
		CHECK(file != MAP_FAILED);
		CHECK(file[1] == 'E' && file[2] == 'L');
		file[4096] = 0x5a; // a private copy of the second page
		unsigned char *ro = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CHECK(ro != MAP_FAILED);
		fill(ro, 4096, 55);
		CHECK_OK(mprotect(ro, 4096, PROT_READ));

		char *args[] = {"true", NULL};
		char *env[] = {NULL};
		CHECK_ERR(execve(bad, args, env), ENOENT);
		static char huge[200 * 1024];
		memset(huge, 'x', sizeof huge - 1);
		char *too_long[] = {"true", huge, NULL};
		CHECK_ERR(execve("/bin/true", too_long, env), E2BIG);

		CHECK(intact(heap, heap_len, 11));
		CHECK(intact(stack, sizeof stack, 22));
		CHECK(intact((unsigned char *)data_pattern, sizeof data_pattern, 33));
		CHECK(intact(shared, 4096, 44));
		CHECK(intact(ro, 4096, 55));
		CHECK(file[1] == 'E' && file[4096] == 0x5a);
		// Still writable where it was, still shared with the parent,
		// still read-only where it was.
		fill(heap, heap_len, 66);
		CHECK(intact(heap, heap_len, 66));
		shared[0] = 0x77;
		char c = 1;
		CHECK_EQ(write(go[1], &c, 1), 1);
		CHECK_EQ(read(done[0], &c, 1), 1);
		CHECK(shared[1] == 0x88);
		struct sigaction sa = {0};
		sa.sa_handler = on_segv;
		CHECK_OK(sigaction(SIGSEGV, &sa, NULL));
		if (sigsetjmp(segv_jump, 1) == 0) {
			*(volatile unsigned char *)ro = 0;
			FAIL("a write to the read-only page succeeded after the failed execve");
		}
		CHECK(intact(ro, 4096, 55));

		execve("/bin/true", args, env);
		_exit(99);
	}
	char c;
	CHECK_EQ(read(go[0], &c, 1), 1);
	CHECK_EQ(shared[0], 0x77);
	shared[1] = 0x88;
	CHECK_EQ(write(done[1], &c, 1), 1);
	WAIT_EXIT(pid, 0);
	unlink(bad);
	puts("ok");
	return 0;
}
