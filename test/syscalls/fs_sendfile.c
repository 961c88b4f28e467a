// fs_sendfile: sendfile copies from a file to a pipe or to another file;
// with an offset pointer it reads from *offset, advances it and leaves the
// file offset alone, without one it uses and advances the file offset; a
// count past EOF is cut short, at EOF it returns 0; the output must be
// writable (EBADF), not O_APPEND (EINVAL), and the input not opened for
// writing only (EBADF) nor a pipe (EINVAL).
//
//go:build ignore

#include "fs_check.h"
#include <sys/sendfile.h>

int main(void) {
	scratch_cd();
	char data[10000];
	for (int i = 0; i < (int)sizeof data; i++)
		data[i] = (char)(i * 7);
	make_file("src", 0644, data, sizeof data);
	int in = open("src", O_RDONLY);
	int out = open("dst", O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(in >= 0 && out >= 0);

	// File -> file with an offset pointer.
	off_t off = 1000;
	CHECK_EQ(sendfile(out, in, &off, 3000), 3000);
	CHECK_EQ(off, 4000);
	CHECK_EQ(lseek(in, 0, SEEK_CUR), 0);
	CHECK_EQ(lseek(out, 0, SEEK_CUR), 3000);
	static char buf[20000];
	CHECK_EQ(pread(out, buf, sizeof buf, 0), 3000);
	CHECK_MEM(buf, data + 1000, 3000);

	// Without a pointer: the input's offset moves.
	CHECK_EQ(lseek(in, 9000, SEEK_SET), 9000);
	CHECK_EQ(sendfile(out, in, NULL, 5000), 1000); // cut at EOF
	CHECK_EQ(lseek(in, 0, SEEK_CUR), 10000);
	CHECK_EQ(sendfile(out, in, NULL, 5000), 0);
	off = 20000;
	CHECK_EQ(sendfile(out, in, &off, 10), 0);
	CHECK_EQ(off, 20000);
	CHECK_EQ(pread(out, buf, sizeof buf, 0), 4000);
	CHECK_MEM(buf + 3000, data + 9000, 1000);

	// File -> pipe.
	int p[2];
	CHECK_OK(pipe(p));
	off = 0;
	CHECK_EQ(sendfile(p[1], in, &off, 100), 100);
	CHECK_EQ(read(p[0], buf, sizeof buf), 100);
	CHECK_MEM(buf, data, 100);
	// A pipe is no input (splice moves data out of pipes): EINVAL, and
	// the pipe keeps its data.
	CHECK_EQ(write(p[1], "abc", 3), 3);
	CHECK_ERR(sendfile(out, p[0], NULL, 3), EINVAL);
	int q[2];
	CHECK_OK(pipe(q));
	CHECK_ERR(sendfile(q[1], p[0], NULL, 3), EINVAL);
	CHECK_EQ(read(p[0], buf, sizeof buf), 3);
	close(q[0]);
	close(q[1]);

	// An O_APPEND output is not supported: EINVAL, nothing written.
	int app = open("dst", O_WRONLY | O_APPEND);
	CHECK(app >= 0);
	off = 0;
	CHECK_ERR(sendfile(app, in, &off, 10), EINVAL);
	CHECK_EQ(fsize("dst"), 4000);

	// Errors.
	int ro = open("dst", O_RDONLY);
	CHECK(ro >= 0);
	off = 0;
	CHECK_ERR(sendfile(ro, in, &off, 10), EBADF);
	int wo = open("src", O_WRONLY);
	CHECK(wo >= 0);
	CHECK_ERR(sendfile(out, wo, &off, 10), EBADF);
	off = -1;
	CHECK_ERR(sendfile(out, in, &off, 10), EINVAL);
	CHECK_ERR(sendfile(out, 1000, NULL, 10), EBADF);
	close(p[0]);
	close(p[1]);
	close(app);
	close(ro);
	close(wo);
	close(in);
	close(out);
	return 0;
}
