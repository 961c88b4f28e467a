// fs_mknod_fifo: mknod(S_IFIFO) and mkfifo create named pipes (S_ISFIFO,
// mode & ~umask, size 0); O_RDONLY|O_NONBLOCK opens at once, O_WRONLY|
// O_NONBLOCK without a reader is ENXIO and succeeds once one exists; data
// flows between the two opens; O_RDWR never blocks; EEXIST for an existing
// name; lseek is ESPIPE.
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	scratch_cd();
	umask(022);
	CHECK_OK(mknod("p", S_IFIFO | 0666, 0));
	CHECK_OK(mkfifo("q", 0600));
	struct stat st;
	CHECK_OK(stat("p", &st));
	CHECK(S_ISFIFO(st.st_mode));
	CHECK_EQ(st.st_mode & 07777, 0644);
	CHECK_EQ(st.st_size, 0);
	CHECK_OK(stat("q", &st));
	CHECK(S_ISFIFO(st.st_mode));
	CHECK_ERR(mkfifo("p", 0600), EEXIST);
	CHECK_ERR(mknod("q", S_IFIFO | 0600, 0), EEXIST);

	CHECK_ERR(open("p", O_WRONLY | O_NONBLOCK), ENXIO);
	int r = open("p", O_RDONLY | O_NONBLOCK);
	CHECK(r >= 0);
	int w = open("p", O_WRONLY | O_NONBLOCK);
	CHECK(w >= 0);
	char buf[16];
	CHECK_ERR(read(r, buf, sizeof buf), EAGAIN); // writer present, no data
	CHECK_EQ(write(w, "fifo!", 5), 5);
	CHECK_EQ(read(r, buf, sizeof buf), 5);
	CHECK_MEM(buf, "fifo!", 5);
	CHECK_ERR(lseek(r, 0, SEEK_SET), ESPIPE);
	CHECK_OK(close(w));
	CHECK_EQ(read(r, buf, sizeof buf), 0); // EOF: no writers left
	CHECK_OK(close(r));

	// O_RDWR opens without a peer and can talk to itself.
	int rw = open("q", O_RDWR);
	CHECK(rw >= 0);
	CHECK_EQ(write(rw, "self", 4), 4);
	CHECK_EQ(read(rw, buf, sizeof buf), 4);
	CHECK_OK(close(rw));

	// Data does not persist in the file system: a new open sees nothing.
	r = open("q", O_RDONLY | O_NONBLOCK);
	w = open("q", O_WRONLY | O_NONBLOCK);
	CHECK(r >= 0 && w >= 0);
	CHECK_ERR(read(r, buf, sizeof buf), EAGAIN);
	close(r);
	close(w);
	CHECK_OK(stat("q", &st));
	CHECK_EQ(st.st_size, 0);
	CHECK_ERR(mkfifo("missing/p", 0600), ENOENT);
	return 0;
}
