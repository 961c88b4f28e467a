// kernel_ops: times one kernel operation in a loop and prints nanoseconds
// per operation. Used by the benchmark report natively and in the sandbox.
//
//   kernel_ops forkexec N   fork + execve of this program + wait
//   kernel_ops forkwrite N  fork, the child writes 1 MiB its parent had
//                           written (copy-on-write), exits; wait
//   kernel_ops forkreserve N  fork + exit + wait of a process with 1 GiB
//                           reserved writable, 16 pages of it touched
//   kernel_ops forkparent N fork + exit + wait, then the parent writes the
//                           8 MiB it wrote before (copy-on-write the child
//                           let go)
//   kernel_ops thread N     pthread_create + pthread_join
//   kernel_ops futex N      a futex ping-pong round between two threads
//   kernel_ops signal N     raise(SIGUSR1) delivered to a handler and back
//   kernel_ops clock N      clock_gettime(CLOCK_MONOTONIC) (through the vDSO)
//   kernel_ops yield N      sched_yield with nothing else to run
//   kernel_ops sleep N      nanosleep of 100 µs
//   kernel_ops pipe N       an 8 KiB write to a pipe that another process
//                           drains with 128 KiB reads (a shell pipeline)
//   kernel_ops unix N       the same through a unix stream socket pair
//
//go:build ignore

#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *nothing(void *arg) { return arg; }

static atomic_int word;
static long rounds;

static void fwait(int val) { syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0); }
static void fwake(void) { syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0); }

static void *pong(void *arg) {
	(void)arg;
	for (long i = 0; i < rounds; i++) {
		while (atomic_load(&word) != 1)
			fwait(0);
		atomic_store(&word, 0);
		fwake();
	}
	return NULL;
}

// stream has a child write n 8 KiB chunks to wr while this process drains
// rd with 128 KiB reads; it returns 0 when every byte arrived.
static int stream(int rd, int wr, long n) {
	pid_t pid = fork();
	if (pid == 0) {
		static char chunk[8192];
		close(rd);
		for (long i = 0; i < n; i++)
			if (write(wr, chunk, sizeof chunk) != sizeof chunk)
				_exit(1);
		_exit(0);
	}
	close(wr);
	static char buf[128 << 10];
	long long got = 0;
	ssize_t r;
	while ((r = read(rd, buf, sizeof buf)) > 0)
		got += r;
	int st;
	waitpid(pid, &st, 0);
	if (r < 0 || got != n * 8192LL || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return 1;
	return 0;
}

static volatile int caught;
static void on_usr1(int sig) { (void)sig; caught++; }

int main(int argc, char **argv) {
	if (argc > 1 && strcmp(argv[1], "child") == 0)
		return 0;
	if (argc < 3) {
		fprintf(stderr, "usage: kernel_ops forkexec|thread|futex|signal|clock|yield N\n");
		return 2;
	}
	long n = atol(argv[2]);
	long long t0 = now();
	if (strcmp(argv[1], "forkexec") == 0) {
		for (long i = 0; i < n; i++) {
			pid_t pid = fork();
			if (pid == 0) {
				execl("/proc/self/exe", argv[0], "child", (char *)NULL);
				execl(argv[0], argv[0], "child", (char *)NULL);
				_exit(127);
			}
			int st;
			waitpid(pid, &st, 0);
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
				return 1;
		}
	} else if (strcmp(argv[1], "forkwrite") == 0 || strcmp(argv[1], "forkreserve") == 0 || strcmp(argv[1], "forkparent") == 0) {
		int reserve = argv[1][4] == 'r', parent = argv[1][4] == 'p';
		size_t size = reserve ? (size_t)1 << 30 : parent ? (size_t)8 << 20 : (size_t)1 << 20;
		size_t step = reserve ? size / 16 : 4096;
		char *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (mem == MAP_FAILED)
			return 1;
		for (size_t off = 0; off < size; off += step)
			mem[off] = 1;
		t0 = now();
		for (long i = 0; i < n; i++) {
			pid_t pid = fork();
			if (pid == 0) {
				if (!reserve && !parent)
					for (size_t off = 0; off < size; off += step)
						mem[off] = 2;
				_exit(0);
			}
			int st;
			waitpid(pid, &st, 0);
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
				return 1;
			if (parent)
				for (size_t off = 0; off < size; off += step)
					mem[off]++;
		}
	} else if (strcmp(argv[1], "thread") == 0) {
		for (long i = 0; i < n; i++) {
			pthread_t t;
			pthread_create(&t, NULL, nothing, NULL);
			pthread_join(t, NULL);
		}
	} else if (strcmp(argv[1], "futex") == 0) {
		rounds = n;
		pthread_t t;
		pthread_create(&t, NULL, pong, NULL);
		t0 = now();
		for (long i = 0; i < n; i++) {
			atomic_store(&word, 1);
			fwake();
			while (atomic_load(&word) != 0)
				fwait(1);
		}
		pthread_join(t, NULL);
	} else if (strcmp(argv[1], "signal") == 0) {
		signal(SIGUSR1, on_usr1);
		for (long i = 0; i < n; i++)
			raise(SIGUSR1);
		if (caught != n)
			return 1;
	} else if (strcmp(argv[1], "clock") == 0) {
		struct timespec ts;
		for (long i = 0; i < n; i++)
			if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
				return 1;
	} else if (strcmp(argv[1], "yield") == 0) {
		for (long i = 0; i < n; i++)
			if (sched_yield() != 0)
				return 1;
	} else if (strcmp(argv[1], "pipe") == 0) {
		int fds[2];
		if (pipe(fds) != 0 || stream(fds[0], fds[1], n) != 0)
			return 1;
	} else if (strcmp(argv[1], "unix") == 0) {
		int fds[2];
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0 || stream(fds[0], fds[1], n) != 0)
			return 1;
	} else if (strcmp(argv[1], "sleep") == 0) {
		struct timespec d = {0, 100000};
		for (long i = 0; i < n; i++)
			if (nanosleep(&d, NULL) != 0)
				return 1;
	} else {
		return 2;
	}
	printf("%.1f\n", (double)(now() - t0) / n);
	return 0;
}
