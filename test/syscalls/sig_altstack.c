// sig_altstack: a SA_ONSTACK handler runs on the alternate signal stack (its
// locals lie inside it, sigaltstack reports SS_ONSTACK there, and changing
// the stack while on it is EPERM); a handler without SA_ONSTACK stays on the
// normal stack, and a change it makes to the alternate stack is undone by
// sigreturn (which restores uc_stack); SS_DISABLE turns it off; a too-small
// stack is ENOMEM.
//
//go:build ignore

#include "task_check.h"

static char alt[64 * 1024] __attribute__((aligned(16)));
static volatile uintptr_t where;
static volatile int flags_inside, change_err;

static void handler(int sig, siginfo_t *si, void *uc) {
	(void)sig, (void)si, (void)uc;
	volatile int local = 0;
	where = (uintptr_t)&local;
	stack_t ss;
	sigaltstack(NULL, &ss);
	flags_inside = ss.ss_flags;
	stack_t other = {.ss_sp = alt, .ss_size = sizeof alt / 2};
	change_err = sigaltstack(&other, NULL) == -1 ? errno : 0;
}

static int on_alt(uintptr_t p) { return p >= (uintptr_t)alt && p < (uintptr_t)alt + sizeof alt; }

int main(void) {
	stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt, .ss_flags = 0}, old;
	CHECK_OK(sigaltstack(&ss, &old));
	CHECK(old.ss_flags & SS_DISABLE);
	CHECK_OK(sigaltstack(NULL, &old));
	CHECK_EQ(old.ss_sp, alt);
	CHECK_EQ(old.ss_size, sizeof alt);
	CHECK_EQ(old.ss_flags, 0);

	install(SIGUSR1, handler, SA_ONSTACK);
	CHECK_OK(raise(SIGUSR1));
	CHECK(on_alt(where));
	CHECK_EQ(flags_inside, SS_ONSTACK);
	CHECK_EQ(change_err, EPERM);
	CHECK_OK(sigaltstack(NULL, &old));
	CHECK_EQ(old.ss_flags, 0); // not on it any more
	CHECK_EQ(old.ss_size, sizeof alt);

	install(SIGUSR2, handler, 0);
	CHECK_OK(raise(SIGUSR2));
	CHECK(!on_alt(where));
	CHECK_EQ(flags_inside, 0);
	CHECK_EQ(change_err, 0); // allowed when not on it...
	CHECK_OK(sigaltstack(NULL, &old));
	CHECK_EQ(old.ss_size, sizeof alt); // ...but sigreturn restores uc_stack

	ss.ss_flags = SS_DISABLE;
	CHECK_OK(sigaltstack(&ss, NULL));
	CHECK_OK(raise(SIGUSR1)); // SA_ONSTACK but no stack: the normal one
	CHECK(!on_alt(where));
	CHECK_EQ(flags_inside, SS_DISABLE);

	ss.ss_flags = 0;
	ss.ss_size = 1024;
	CHECK_ERR(sigaltstack(&ss, NULL), ENOMEM);
	return 0;
}
