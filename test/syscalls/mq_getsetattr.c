// mq_getsetattr(2), under mq_getattr(3) and mq_setattr(3): the old
// attributes come back with the reserved words zeroed and mq_curmsgs
// current; a flag other than O_NONBLOCK is EINVAL before the descriptor is
// looked at; the new attributes are read (EFAULT) before and the old ones
// written (EFAULT) after the change, which stays made; NULL for either is
// fine; a descriptor that is not a queue, or no descriptor, is EBADF.
//go:build ignore

#include "mq_check.h"

static long getsetattr(int fd, const void *set, void *old) {
	return syscall(SYS_mq_getsetattr, fd, set, old);
}

int main(void) {
	mq_fresh_namespace();
	const char *name = mq_name("attr");
	mqd_t q = mq_make(name, O_WRONLY, 3, 100);

	long old[8];
	memset(old, 0xff, sizeof old);
	CHECK_OK(getsetattr(q, NULL, old));
	CHECK_EQ(old[0], 0);
	CHECK_EQ(old[1], 3);
	CHECK_EQ(old[2], 100);
	CHECK_EQ(old[3], 0);
	for (int i = 4; i < 8; i++)
		CHECK_EQ(old[i], 0);
	CHECK_OK(mq_send(q, "hello", 5, 1));
	CHECK_OK(mq_send(q, "", 0, 1));
	CHECK_OK(getsetattr(q, NULL, old));
	CHECK_EQ(old[3], 2);
	CHECK_OK(getsetattr(q, NULL, NULL));

	// Checks, in the kernel's order.
	long set[8] = {O_NONBLOCK | 1, 0, 0, 0, 0, 0, 0, 0};
	CHECK_ERR(getsetattr(-1, set, NULL), EINVAL);
	CHECK_ERR(getsetattr(q, set, NULL), EINVAL);
	CHECK_ERR(getsetattr(-1, (void *)8, NULL), EFAULT);
	CHECK_ERR(getsetattr(-1, NULL, old), EBADF);
	CHECK_ERR(getsetattr(0x7fffffff, NULL, NULL), EBADF);
	int p[2];
	CHECK_OK(pipe(p));
	CHECK_ERR(getsetattr(p[0], NULL, old), EBADF);

	// A fault writing the old attributes comes after the change.
	set[0] = O_NONBLOCK;
	CHECK_ERR(getsetattr(q, set, (void *)8), EFAULT);
	CHECK_OK(getsetattr(q, NULL, old));
	CHECK_EQ(old[0], O_NONBLOCK);
	CHECK_OK(mq_send(q, "x", 1, 0));
	CHECK_ERR(mq_send(q, "y", 1, 0), EAGAIN);

	// Old and new at once: the old ones are from before the change.
	set[0] = 0;
	memset(old, 0xff, sizeof old);
	CHECK_OK(getsetattr(q, set, old));
	CHECK_EQ(old[0], O_NONBLOCK);
	CHECK_EQ(old[3], 3);
	CHECK_OK(getsetattr(q, NULL, old));
	CHECK_EQ(old[0], 0);

	// Any access mode may get and set the attributes.
	mqd_t ro = mq_open(name, O_RDONLY);
	CHECK(ro >= 0);
	struct mq_attr a = {O_NONBLOCK, 0, 0, 0, {0}}, o;
	CHECK_OK(mq_setattr(ro, &a, &o));
	CHECK_EQ(o.mq_curmsgs, 3);
	char buf[100];
	unsigned prio;
	for (int i = 0; i < 3; i++)
		CHECK(mq_receive(ro, buf, sizeof buf, &prio) >= 0);
	CHECK_ERR(mq_receive(ro, buf, sizeof buf, &prio), EAGAIN);

	CHECK_OK(mq_close(ro));
	CHECK_OK(mq_close(q));
	CHECK_OK(mq_unlink(name));
	return 0;
}
