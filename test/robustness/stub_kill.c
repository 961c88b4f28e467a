// stub_kill: processes whose systrap stub process the host kills while
// their other threads are busy in the sentry must still end, and the
// sandbox must keep running.
//
// Each child starts threads that make system calls (through libc, so that
// their sites are patched), map and unmap memory (address-space edits in
// the stub) and create short-lived threads (new stub threads), then jumps
// to the systrap stub's own `syscall` instruction with mkdir(DIR/stub-mkdir).
// The stub's filter kills the whole stub process; the sentry must notice,
// end every task of the child and reap the stub without waiting forever on
// anything. The parent checks each child ended by a signal, and the Go test
// checks that the host directory stayed empty. On the ptrace platform there
// is no stub code to jump to and the children exit 0.
//
// usage: stub_kill DIR ROUNDS
//
//go:build ignore

#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

// The systrap stub's injection point (sentry/platform/systrap/stub.go:
// stubStart + stubCodeOffset), a `syscall` instruction.
#define STUB_SYSCALL 0x7f00000000b0UL

static sigjmp_buf peek_env;

static void on_segv(int sig) {
	(void)sig;
	siglongjmp(peek_env, 1);
}

// stub_present reports whether the stub's syscall instruction is mapped.
static int stub_present(void) {
	struct sigaction sa = {.sa_handler = on_segv}, old_segv, old_bus;
	sigaction(SIGSEGV, &sa, &old_segv);
	sigaction(SIGBUS, &sa, &old_bus);
	int ok = 0;
	if (sigsetjmp(peek_env, 1) == 0) {
		volatile uint8_t *p = (volatile uint8_t *)STUB_SYSCALL;
		ok = p[0] == 0x0f && p[1] == 0x05;
	}
	sigaction(SIGSEGV, &old_segv, NULL);
	sigaction(SIGBUS, &old_bus, NULL);
	return ok;
}

static void *short_lived(void *arg) {
	return arg;
}

static void *busy(void *arg) {
	long kind = (long)arg;
	for (;;) {
		switch (kind) {
		case 0:
			getppid();
			sched_yield();
			break;
		case 1: {
			char *p = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (p != MAP_FAILED) {
				p[0] = p[4096] = p[8192] = 1;
				munmap(p, 3 * 4096);
			}
			break;
		}
		default: {
			pthread_t t;
			if (pthread_create(&t, NULL, short_lived, NULL) == 0)
				pthread_join(t, NULL);
		}
		}
	}
	return NULL;
}

static void child(const char *dir, int round) {
	char path[4096];
	snprintf(path, sizeof path, "%s/stub-mkdir", dir);
	if (!stub_present())
		_exit(0);
	for (long k = 0; k < 4; k++) {
		pthread_t t;
		if (pthread_create(&t, NULL, busy, (void *)(k % 3)) != 0) {
			perror("pthread_create");
			_exit(3);
		}
	}
	// Let the threads get going; vary the moment between rounds.
	struct timespec d = {0, (1 + round % 7) * 3 * 1000 * 1000};
	nanosleep(&d, NULL);
	__asm__ volatile(
	    "mov %0, %%rdi\n"
	    "mov $0755, %%esi\n"
	    "mov %1, %%eax\n"
	    "mov %2, %%r11\n"
	    "jmp *%%r11\n"
	    :
	    : "r"(path), "i"(SYS_mkdir), "i"(STUB_SYSCALL)
	    : "rax", "rdi", "rsi", "r11", "memory");
	_exit(4); // not reached
}

int main(int argc, char **argv) {
	if (argc != 3) {
		fprintf(stderr, "usage: stub_kill DIR ROUNDS\n");
		return 2;
	}
	int rounds = atoi(argv[2]);
	for (int r = 0; r < rounds; r++) {
		pid_t pids[2];
		for (int i = 0; i < 2; i++) {
			pids[i] = fork();
			if (pids[i] < 0) {
				perror("fork");
				return 1;
			}
			if (pids[i] == 0)
				child(argv[1], 2 * r + i);
		}
		for (int i = 0; i < 2; i++) {
			int st;
			if (waitpid(pids[i], &st, 0) < 0) {
				perror("waitpid");
				return 1;
			}
			if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
				continue; // no stub here
			if (!WIFSIGNALED(st)) {
				fprintf(stderr, "round %d: child exited %d instead of being killed\n", r, WEXITSTATUS(st));
				return 1;
			}
		}
	}
	// The sandbox still works.
	pid_t p = fork();
	if (p == 0)
		_exit(7);
	int st;
	if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 7) {
		fprintf(stderr, "the sandbox cannot run a child any more\n");
		return 1;
	}
	puts("ok");
	return 0;
}
