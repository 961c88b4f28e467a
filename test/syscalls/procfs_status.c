// procfs_status: /proc/self/status reports Name, Pid, Tgid, PPid, Uid/Gid
// (real, effective, saved, fs), Threads (changing with a thread), SigBlk
// (the blocked mask in hex), and NoNewPrivs; a thread's own status under
// /proc/self/task/<tid>/status has its tid as Pid and the process as Tgid.
//
//go:build ignore

#include "procfs_check.h"

static pthread_barrier_t bar;
static pid_t thread_tid;
static void *idle(void *arg) {
	(void)arg;
	thread_tid = gettid();
	pthread_barrier_wait(&bar);
	pthread_barrier_wait(&bar);
	return NULL;
}

int main(void) {
	char s[8192], v[256];
	CHECK_OK(prctl(PR_SET_NAME, "status-test"));
	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGUSR1); // bit 9
	sigaddset(&m, SIGRTMIN + 1);
	CHECK_OK(sigprocmask(SIG_SETMASK, &m, NULL));
	READ_PROC("/proc/self/status", s);
	CHECK(strcmp(status_field(s, "Name", v, sizeof v), "status-test") == 0);
	CHECK_EQ(atoi(status_field(s, "Pid", v, sizeof v)), getpid());
	CHECK_EQ(atoi(status_field(s, "Tgid", v, sizeof v)), getpid());
	CHECK_EQ(atoi(status_field(s, "PPid", v, sizeof v)), getppid());
	CHECK_EQ(atoi(status_field(s, "Threads", v, sizeof v)), 1);
	unsigned r, e, sv, fs;
	CHECK_EQ(sscanf(status_field(s, "Uid", v, sizeof v), "%u %u %u %u", &r, &e, &sv, &fs), 4);
	uid_t ru, eu, su;
	CHECK_OK(getresuid(&ru, &eu, &su));
	CHECK(r == ru && e == eu && sv == su && fs == eu);
	CHECK_EQ(sscanf(status_field(s, "Gid", v, sizeof v), "%u %u %u %u", &r, &e, &sv, &fs), 4);
	CHECK_EQ(r, getgid());
	CHECK_EQ(e, getegid());
	unsigned long long blk = strtoull(status_field(s, "SigBlk", v, sizeof v), NULL, 16);
	CHECK_EQ(blk, (1ULL << (SIGUSR1 - 1)) | (1ULL << (SIGRTMIN + 1 - 1)));
	CHECK_EQ(atoi(status_field(s, "NoNewPrivs", v, sizeof v)), prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));

	CHECK_EQ(pthread_barrier_init(&bar, NULL, 2), 0);
	pthread_t t;
	CHECK_EQ(pthread_create(&t, NULL, idle, NULL), 0);
	pthread_barrier_wait(&bar);
	READ_PROC("/proc/self/status", s);
	CHECK_EQ(atoi(status_field(s, "Threads", v, sizeof v)), 2);
	char path[80];
	snprintf(path, sizeof path, "/proc/self/task/%d/status", thread_tid);
	READ_PROC(path, s);
	CHECK_EQ(atoi(status_field(s, "Pid", v, sizeof v)), thread_tid);
	CHECK_EQ(atoi(status_field(s, "Tgid", v, sizeof v)), getpid());
	pthread_barrier_wait(&bar);
	CHECK_EQ(pthread_join(t, NULL), 0);

	CHECK_OK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
	READ_PROC("/proc/self/status", s);
	CHECK_EQ(atoi(status_field(s, "NoNewPrivs", v, sizeof v)), 1);
	return 0;
}
