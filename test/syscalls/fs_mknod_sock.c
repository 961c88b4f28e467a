// fs_mknod_sock: mknod(S_IFSOCK) creates a socket inode that nobody listens
// on (connect: ECONNREFUSED); bind of a unix socket creates an S_IFSOCK
// node (EADDRINUSE if the name exists); open() of a socket node is ENXIO;
// unlinking the node does not close a listening socket; mknod(S_IFREG)
// and type 0 create regular files; an unknown type is EINVAL.
//
//go:build ignore

#include "fs_check.h"
#include <sys/socket.h>
#include <sys/un.h>

static struct sockaddr_un addr(const char *name) {
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof a.sun_path, "%s", name);
	return a;
}

int main(void) {
	scratch_cd();
	CHECK_OK(mknod("s", S_IFSOCK | 0644, 0));
	struct stat st;
	CHECK_OK(lstat("s", &st));
	CHECK(S_ISSOCK(st.st_mode));
	CHECK_ERR(open("s", O_RDONLY), ENXIO);
	int c = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = addr("s");
	CHECK_ERR(connect(c, (struct sockaddr *)&a, sizeof a), ECONNREFUSED);
	close(c);

	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(l >= 0);
	CHECK_ERR(bind(l, (struct sockaddr *)&a, sizeof a), EADDRINUSE);
	a = addr("listen");
	CHECK_OK(bind(l, (struct sockaddr *)&a, sizeof a));
	CHECK_OK(listen(l, 1));
	CHECK_OK(lstat("listen", &st));
	CHECK(S_ISSOCK(st.st_mode));
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_OK(connect(c, (struct sockaddr *)&a, sizeof a));
	int s = accept(l, NULL, NULL);
	CHECK(s >= 0);
	CHECK_EQ(write(c, "hi", 2), 2);
	char buf[4];
	CHECK_EQ(read(s, buf, sizeof buf), 2);
	close(s);
	close(c);
	// The path can be renamed: connecting through the new name works.
	CHECK_OK(rename("listen", "moved"));
	a = addr("moved");
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_OK(connect(c, (struct sockaddr *)&a, sizeof a));
	close(c);
	CHECK_OK(unlink("moved"));
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_ERR(connect(c, (struct sockaddr *)&a, sizeof a), ENOENT);
	close(c);
	close(l);

	CHECK_OK(mknod("r", S_IFREG | 0600, 0));
	CHECK_OK(lstat("r", &st));
	CHECK(S_ISREG(st.st_mode));
	CHECK_OK(mknod("r0", 0600, 0));
	CHECK_OK(lstat("r0", &st));
	CHECK(S_ISREG(st.st_mode));
	CHECK_ERR(mknod("bad", 0170000 | 0600, 0), EINVAL);
	CHECK_ERR(mknod("dir", S_IFDIR | 0755, 0), EPERM);
	CHECK_ERR(mknod("s", S_IFSOCK | 0644, 0), EEXIST);
	return 0;
}
