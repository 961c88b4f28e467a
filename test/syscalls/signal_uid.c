// signal_uid: si_uid names the sender, or for SIGCHLD and waitid the
// child, by its real user ID as the receiver's user namespace sees it.
// A child that exits as user 1234 is reported with si_uid 1234 by SIGCHLD
// and waitid; kill from a process whose real user is 1234 arrives with
// si_uid 1234. Across user namespaces: a process whose namespace maps 0
// to 1234 is seen outside as 1234; the outside's root, which has no ID
// inside, arrives there as 65534, from kill and from sigqueue alike; and
// a process's sigqueue to itself keeps its own view (0).
//
//go:build ignore

#include "userns_check.h"
#include <signal.h>
#include <sys/wait.h>

static const struct timespec five_s = {5, 0};

// take waits for sig (blocked by the caller) and returns its siginfo.
static siginfo_t take(int sig) {
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	siginfo_t si;
	int got;
	do
		got = sigtimedwait(&set, &si, &five_s);
	while (got < 0 && errno == EINTR);
	if (got != sig)
		FAIL("sigtimedwait for %d: got %d (errno %d %s)", sig, got, errno, errname(errno));
	return si;
}

static void block_sigs(void) {
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGRTMIN);
	CHECK_OK(sigprocmask(SIG_BLOCK, &set, NULL));
}

// exit_as_1234: SIGCHLD's and waitid's si_uid are the child's real ID.
static void exit_as_1234(void) {
	pid_t pid = XFORK();
	if (pid == 0) {
		CHECK_OK(setresuid(1234, 1234, 1234));
		_exit(0);
	}
	siginfo_t si = take(SIGCHLD);
	CHECK_EQ(si.si_pid, pid);
	CHECK_EQ(si.si_code, CLD_EXITED);
	CHECK_EQ((long)si.si_uid, 1234);
	memset(&si, 0, sizeof si);
	CHECK_OK(waitid(P_PID, pid, &si, WEXITED));
	CHECK_EQ(si.si_pid, pid);
	CHECK_EQ((long)si.si_uid, 1234);
}

// kill_from_1234: kill's si_uid is the sender's real ID (its effective
// ID, root, is what lets it signal).
static void kill_from_1234(void) {
	pid_t parent = getpid();
	pid_t pid = XFORK();
	if (pid == 0) {
		CHECK_OK(setresuid(1234, 0, 0));
		CHECK_OK(kill(parent, SIGUSR1));
		_exit(0);
	}
	siginfo_t si = take(SIGUSR1);
	CHECK_EQ(si.si_pid, pid);
	CHECK_EQ(si.si_code, SI_USER);
	CHECK_EQ((long)si.si_uid, 1234);
	take(SIGCHLD);
	int ws;
	CHECK_EQ(waitpid(pid, &ws, 0), pid);
	CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
}

// across_namespaces runs in a process whose saved user ID is 1234, so
// that the child, seen outside as 1234, may signal it.
static void across_namespaces(void) {
	int c2p[2], p2c[2];
	CHECK_OK(pipe(c2p));
	CHECK_OK(pipe(p2c));
	pid_t parent = getpid();
	pid_t pid = XFORK();
	if (pid == 0) {
		CHECK_OK(setresuid(1234, 1234, 1234));
		CHECK_OK(unshare(CLONE_NEWUSER));
		sync_post(c2p[1]);
		sync_wait(p2c[0]);
		CHECK_EQ((long)getuid(), 0);
		CHECK_OK(kill(parent, SIGUSR1));
		siginfo_t si = take(SIGUSR2);
		CHECK_EQ(si.si_code, SI_USER);
		CHECK_EQ((long)si.si_uid, 65534);
		sync_post(c2p[1]);
		si = take(SIGRTMIN);
		CHECK_EQ(si.si_code, SI_QUEUE);
		CHECK_EQ((long)si.si_uid, 65534);
		CHECK_EQ(si.si_value.sival_int, 7);
		CHECK_OK(sigqueue(getpid(), SIGRTMIN, (union sigval){.sival_int = 8}));
		si = take(SIGRTMIN);
		CHECK_EQ((long)si.si_uid, 0);
		CHECK_EQ(si.si_value.sival_int, 8);
		_exit(0);
	}
	sync_wait(c2p[0]);
	CHECK_OK(proc_write(pid, "setgroups", "deny"));
	CHECK_OK(proc_write(pid, "uid_map", "0 1234 1"));
	CHECK_OK(proc_write(pid, "gid_map", "0 1234 1"));
	sync_post(p2c[1]);
	siginfo_t si = take(SIGUSR1);
	CHECK_EQ(si.si_pid, pid);
	CHECK_EQ((long)si.si_uid, 1234);
	CHECK_OK(kill(pid, SIGUSR2));
	sync_wait(c2p[0]);
	CHECK_OK(sigqueue(pid, SIGRTMIN, (union sigval){.sival_int = 7}));
	memset(&si, 0, sizeof si);
	CHECK_OK(waitid(P_PID, pid, &si, WEXITED));
	CHECK_EQ(si.si_code, CLD_EXITED);
	CHECK_EQ(si.si_status, 0);
	CHECK_EQ((long)si.si_uid, 1234);
}

int main(void) {
	if (getuid() != 0)
		return 0; // setresuid and uid_map need root
	block_sigs();
	exit_as_1234();
	kill_from_1234();
	pid_t pid = XFORK();
	if (pid == 0) {
		CHECK_OK(setresuid(0, 0, 1234));
		across_namespaces();
		_exit(0);
	}
	int ws;
	CHECK_EQ(waitpid(pid, &ws, 0), pid);
	CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
	return 0;
}
