// mntns_propagation: mount(2)'s propagation types. MS_SHARED, MS_PRIVATE,
// MS_SLAVE and MS_UNBINDABLE change a mount's type as
// /proc/self/mountinfo's optional fields show it ("shared:N",
// "master:N", "unbindable", none when private); MS_REC changes the mounts
// below too. A shared mount without peers made a slave becomes private; a
// copy of a shared mount in a new namespace is its peer (same N), and a
// slave of it there shows "master:N". Two types at once, other flags with
// a type, and a path that is not a mount point are EINVAL; an unbindable
// mount cannot be bind-mounted (EINVAL). Runs as root, in a private
// namespace of its own (mntns_check.h).
//
//go:build ignore

#include "mntns_check.h"

// fields returns mountinfo's optional fields for the mount at path ("" if
// none) in buf.
static const char *fields(const char *path, char *buf, size_t size) {
	char line[4096];
	if (!mountinfo_line(path, line, sizeof line))
		FAIL("no mount at %s", path);
	// ID PARENT MAJ:MIN ROOT TARGET OPTIONS [FIELDS...] - TYPE ...
	char *p = line;
	for (int i = 0; i < 6; i++) {
		p = strchr(p, ' ');
		CHECK(p != NULL);
		p++;
	}
	char *dash = strstr(p, "- ");
	CHECK(dash != NULL);
	size_t n = dash - p;
	if (n > 0)
		n--; // the space before "-"
	if (n >= size)
		n = size - 1;
	memcpy(buf, p, n);
	buf[n] = 0;
	return buf;
}

static void test(void *arg) {
	(void)arg;
	char buf[256];
	mount_tmpfs(spath("t"));
	CHECK_OK(mkdir(spath("t/sub"), 0755));
	mount_tmpfs(spath("t/sub"));
	CHECK_EQ(strcmp(fields(spath("t"), buf, sizeof buf), ""), 0);

	CHECK_OK(mount(NULL, spath("t"), NULL, MS_SHARED, NULL));
	CHECK_EQ(strncmp(fields(spath("t"), buf, sizeof buf), "shared:", 7), 0);
	int group = atoi(buf + 7);
	CHECK(group > 0);
	CHECK_EQ(strcmp(fields(spath("t/sub"), buf, sizeof buf), ""), 0);

	// A slave of nothing is private.
	CHECK_OK(mount(NULL, spath("t"), NULL, MS_SLAVE, NULL));
	CHECK_EQ(strcmp(fields(spath("t"), buf, sizeof buf), ""), 0);

	CHECK_OK(mount(NULL, spath("t"), NULL, MS_REC | MS_UNBINDABLE, NULL));
	CHECK_EQ(strcmp(fields(spath("t"), buf, sizeof buf), "unbindable"), 0);
	CHECK_EQ(strcmp(fields(spath("t/sub"), buf, sizeof buf), "unbindable"), 0);
	CHECK_ERR(mount(spath("t"), spath("b"), NULL, MS_BIND, NULL), EINVAL);
	CHECK_OK(mount(NULL, spath("t"), NULL, MS_REC | MS_PRIVATE, NULL));
	CHECK_EQ(strcmp(fields(spath("t/sub"), buf, sizeof buf), ""), 0);

	CHECK_ERR(mount(NULL, spath("t"), NULL, MS_SHARED | MS_PRIVATE, NULL), EINVAL);
	CHECK_ERR(mount(NULL, spath("t"), NULL, MS_SHARED | MS_NOSUID, NULL), EINVAL);
	CHECK_ERR(mount(NULL, spath("b"), NULL, MS_SHARED, NULL), EINVAL);

	// Copies of a shared mount are its peers.
	CHECK_OK(mount(NULL, spath("t"), NULL, MS_SHARED, NULL));
	fields(spath("t"), buf, sizeof buf);
	group = atoi(buf + 7);
	fflush(NULL);
	pid_t pid = XFORK();
	if (pid == 0) {
		CHECK_OK(unshare(CLONE_NEWNS));
		char want[64];
		snprintf(want, sizeof want, "shared:%d", group);
		CHECK_EQ(strcmp(fields(spath("t"), buf, sizeof buf), want), 0);
		CHECK_OK(mount(NULL, spath("t"), NULL, MS_SLAVE, NULL));
		snprintf(want, sizeof want, "master:%d", group);
		CHECK_EQ(strcmp(fields(spath("t"), buf, sizeof buf), want), 0);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);
	CHECK_OK(mount(NULL, spath("t"), NULL, MS_PRIVATE, NULL));
	CHECK_OK(umount2(spath("t/sub"), 0));
	CHECK_OK(umount2(spath("t"), 0));
}

int main(void) {
	if (geteuid() != 0)
		return 0;
	scratch();
	CHECK_OK(mkdir(spath("t"), 0755));
	CHECK_OK(mkdir(spath("b"), 0755));
	in_private_ns(test, NULL);
	return 0;
}
