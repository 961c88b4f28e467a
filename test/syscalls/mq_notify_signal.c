// mq_notify(3) with SIGEV_SIGNAL and SIGEV_NONE: one registration per
// queue (EBUSY for a second), used up by the first message that arrives on
// the empty queue, which queues sigev_signo with si_code SI_MESGQ, the
// sender's process and user IDs and sigev_value; no notification while a
// receiver is blocked (it gets the message) or when the queue was not
// empty. mq_notify(NULL) drops the caller's process's registration and
// ignores another's; closing any descriptor of the queue in the owning
// process drops it too, closing one in another process does not. The
// status line shows the registration. Invalid sigevents are EINVAL before
// the descriptor is looked at; SIGEV_THREAD (done by glibc over a netlink
// socket) reads a 32-byte cookie and needs a netlink socket's descriptor
// in sigev_signo: EFAULT, EBADF, ENOTSOCK, EINVAL for other descriptors.
//go:build ignore

#include "mq_check.h"
#include <sys/socket.h>

static mqd_t q;
static volatile sig_atomic_t got;
static siginfo_t info;
static atomic_int receiver_tid;

static void on_usr1(int sig, siginfo_t *si, void *uc) {
	(void)sig, (void)uc;
	info = *si;
	got++;
}

static void status(int *notify, int *signo, int *pid) {
	unsigned long qsize;
	mq_status_fields(q, &qsize, notify, signo, pid);
}

static int owner(void) {
	int notify, signo, pid;
	status(&notify, &signo, &pid);
	return pid;
}

static void *receiver(void *arg) {
	char buf[16];
	receiver_tid = syscall(SYS_gettid);
	CHECK_EQ(mq_receive(q, buf, sizeof buf, NULL), 1);
	*(char *)arg = buf[0];
	return NULL;
}

static long raw_notify(int fd, const struct sigevent *ev) {
	return syscall(SYS_mq_notify, fd, ev);
}

int main(void) {
	mq_fresh_namespace();
	install(SIGUSR1, on_usr1, 0);
	const char *name = mq_name("notify");
	q = mq_make(name, O_RDWR, 4, 16);
	char buf[16];
	int notify, signo, pid;

	struct sigevent ev;
	memset(&ev, 0, sizeof ev);
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = SIGUSR1;
	ev.sigev_value.sival_int = 42;
	status(&notify, &signo, &pid);
	CHECK(notify == 0 && signo == 0 && pid == 0);
	CHECK_OK(mq_notify(q, &ev));
	CHECK_ERR(mq_notify(q, &ev), EBUSY);
	status(&notify, &signo, &pid);
	CHECK_EQ(notify, SIGEV_SIGNAL);
	CHECK_EQ(signo, SIGUSR1);
	CHECK_EQ(pid, getpid());

	CHECK_OK(mq_send(q, "a", 1, 0));
	CHECK_EQ(got, 1);
	CHECK_EQ(info.si_signo, SIGUSR1);
	CHECK_EQ(info.si_code, SI_MESGQ);
	CHECK_EQ(info.si_pid, getpid());
	CHECK_EQ(info.si_uid, getuid());
	CHECK_EQ(info.si_value.sival_int, 42);
	CHECK_EQ(owner(), 0); // used up

	// Not empty: no notification until it is empty again.
	CHECK_OK(mq_notify(q, &ev));
	CHECK_OK(mq_send(q, "b", 1, 0));
	CHECK_EQ(got, 1);
	CHECK_EQ(owner(), getpid());
	CHECK_EQ(mq_receive(q, buf, sizeof buf, NULL), 1);
	CHECK_EQ(mq_receive(q, buf, sizeof buf, NULL), 1);
	CHECK_OK(mq_send(q, "c", 1, 0));
	CHECK_EQ(got, 2);
	CHECK_EQ(mq_receive(q, buf, sizeof buf, NULL), 1);

	// A blocked receiver takes the message; the registration stays.
	CHECK_OK(mq_notify(q, &ev));
	pthread_t th;
	char taken = 0;
	CHECK_EQ(pthread_create(&th, NULL, receiver, &taken), 0);
	while (!receiver_tid)
		usleep(1000);
	wait_thread_blocked(receiver_tid);
	CHECK_OK(mq_send(q, "d", 1, 0));
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(taken, 'd');
	CHECK_EQ(got, 2);
	CHECK_EQ(owner(), getpid());

	// Another process can neither register nor drop it; its closes
	// leave it alone.
	fflush(NULL);
	pid_t child = XFORK();
	if (child == 0) {
		CHECK_ERR(mq_notify(q, &ev), EBUSY);
		CHECK_OK(mq_notify(q, NULL));
		CHECK_OK(close(dup(q)));
		CHECK_OK(mq_close(q));
		_exit(0);
	}
	WAIT_EXIT(child, 0);
	CHECK_EQ(owner(), getpid());
	// The owner's mq_notify(NULL) drops it, twice is fine.
	CHECK_OK(mq_notify(q, NULL));
	CHECK_EQ(owner(), 0);
	CHECK_OK(mq_notify(q, NULL));
	// So does the owner's closing of any descriptor of the queue.
	CHECK_OK(mq_notify(q, &ev));
	CHECK_OK(close(dup(q)));
	CHECK_EQ(owner(), 0);
	CHECK_OK(mq_notify(q, &ev));
	mqd_t other = mq_open(name, O_RDONLY);
	CHECK(other >= 0);
	CHECK_OK(mq_close(other));
	CHECK_EQ(owner(), 0);
	CHECK_OK(mq_send(q, "e", 1, 0));
	CHECK_EQ(got, 2);
	CHECK_EQ(mq_receive(q, buf, sizeof buf, NULL), 1);

	// SIGEV_NONE registers without a signal, and is used up alike.
	ev.sigev_notify = SIGEV_NONE;
	CHECK_OK(mq_notify(q, &ev));
	status(&notify, &signo, &pid);
	CHECK_EQ(notify, SIGEV_NONE);
	CHECK_EQ(signo, 0);
	CHECK_EQ(pid, getpid());
	CHECK_OK(mq_send(q, "f", 1, 0));
	CHECK_EQ(got, 2);
	CHECK_EQ(owner(), 0);
	CHECK_EQ(mq_receive(q, buf, sizeof buf, NULL), 1);
	// Signal 0 is valid, and sends nothing.
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = 0;
	CHECK_OK(mq_notify(q, &ev));
	CHECK_OK(mq_send(q, "g", 1, 0));
	CHECK_EQ(owner(), 0);
	CHECK_EQ(mq_receive(q, buf, sizeof buf, NULL), 1);

	// Invalid sigevents, before the descriptor.
	ev.sigev_signo = 65;
	CHECK_ERR(mq_notify(q, &ev), EINVAL);
	CHECK_ERR(mq_notify(-1, &ev), EINVAL);
	ev.sigev_signo = SIGUSR1;
	ev.sigev_notify = SIGEV_THREAD_ID;
	CHECK_ERR(mq_notify(q, &ev), EINVAL);
	ev.sigev_notify = 77;
	CHECK_ERR(mq_notify(-1, &ev), EINVAL);
	CHECK_ERR(raw_notify(q, (void *)8), EFAULT);
	CHECK_ERR(mq_notify(-1, NULL), EBADF);
	int p[2];
	CHECK_OK(pipe(p));
	CHECK_ERR(mq_notify(p[0], NULL), EBADF);

	// SIGEV_THREAD as the kernel sees it.
	char cookie[32] = {0};
	ev.sigev_notify = SIGEV_THREAD;
	ev.sigev_value.sival_ptr = NULL;
	ev.sigev_signo = p[0];
	CHECK_ERR(raw_notify(q, &ev), EFAULT);
	ev.sigev_value.sival_ptr = cookie;
	ev.sigev_signo = -1;
	CHECK_ERR(raw_notify(q, &ev), EBADF);
	ev.sigev_signo = p[0];
	CHECK_ERR(raw_notify(q, &ev), ENOTSOCK);
	int sv[2];
	CHECK_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	ev.sigev_signo = sv[0];
	CHECK_ERR(raw_notify(q, &ev), EINVAL);
	CHECK_EQ(owner(), 0);

	CHECK_OK(mq_close(q));
	CHECK_OK(mq_unlink(name));
	return 0;
}
