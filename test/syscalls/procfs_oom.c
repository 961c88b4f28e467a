// procfs_oom: /proc/PID/oom_score_adj reads and takes the process's OOM
// score adjustment (-1000 to 1000, kstrtoint's bases, EINVAL otherwise),
// which fork copies and oom_adj shows scaled to -17..15 (1000 is 15);
// oom_adj takes that scale back; oom_score rises with the adjustment
// (1000 puts it at 1332 or more) and is 0 at -1000. Without
// CAP_SYS_RESOURCE a process may not go below its floor (oom_score_adj)
// or, through oom_adj, below its current value (EACCES); with it, the
// value written through oom_score_adj becomes the floor.
//
//go:build ignore

#include "fs_check.h"
#include "ns_check.h"

#define CAP_SYS_RESOURCE 24

static int rd(const char *name) {
	char path[64], buf[32];
	snprintf(path, sizeof path, "/proc/self/%s", name);
	ssize_t n = slurp(path, buf, sizeof buf - 1);
	buf[n] = 0;
	CHECK(n > 0 && buf[n - 1] == '\n');
	return atoi(buf);
}

static int wr(const char *name, const char *value) {
	char path[64];
	snprintf(path, sizeof path, "/proc/self/%s", name);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	ssize_t n = write(fd, value, strlen(value));
	int e = errno;
	close(fd);
	if (n < 0) {
		errno = e;
		return -1;
	}
	CHECK_EQ(n, (ssize_t)strlen(value));
	return 0;
}

static void adjust(void) {
	int base = rd("oom_score_adj");
	int privileged = has_cap(CAP_SYS_RESOURCE);
	if (privileged)
		set_cap(CAP_SYS_RESOURCE, 0);

	// Raising is allowed; oom_adj shows the scaled value.
	CHECK_OK(wr("oom_score_adj", "500"));
	CHECK_EQ(rd("oom_score_adj"), 500);
	CHECK_EQ(rd("oom_adj"), 8);
	CHECK_ERR(wr("oom_adj", "5"), EACCES); // below the current value
	CHECK_EQ(rd("oom_score_adj"), 500);
	CHECK_OK(wr("oom_adj", "9")); // 9 * 1000 / 17
	CHECK_EQ(rd("oom_score_adj"), 529);
	CHECK_EQ(rd("oom_adj"), 8);

	// Parsing and range.
	CHECK_ERR(wr("oom_score_adj", "1001"), EINVAL);
	CHECK_ERR(wr("oom_score_adj", "-1001"), EINVAL);
	CHECK_ERR(wr("oom_score_adj", "x"), EINVAL);
	CHECK_ERR(wr("oom_score_adj", "5x"), EINVAL);
	CHECK_ERR(wr("oom_score_adj", "\n"), EINVAL);
	CHECK_ERR(wr("oom_adj", "16"), EINVAL);
	CHECK_ERR(wr("oom_adj", "-18"), EINVAL);
	CHECK_OK(wr("oom_score_adj", " 0x258\n"));
	CHECK_EQ(rd("oom_score_adj"), 600);
	CHECK_OK(wr("oom_score_adj", "+01750")); // octal 1000
	CHECK_EQ(rd("oom_score_adj"), 1000);
	CHECK_EQ(rd("oom_adj"), 15);
	CHECK_OK(wr("oom_adj", "15"));
	CHECK_EQ(rd("oom_score_adj"), 1000);
	int score = rd("oom_score");
	CHECK(score >= 1332 && score <= 2000); // (1000 + badness * 1000 / total) * 2 / 3

	// Copied by fork.
	fflush(NULL);
	pid_t pid = XFORK();
	if (pid == 0) {
		CHECK_EQ(rd("oom_score_adj"), 1000);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);

	// Back down to where it was: never below the floor.
	char v[16];
	snprintf(v, sizeof v, "%d", base);
	CHECK_OK(wr("oom_score_adj", v));
	CHECK_EQ(rd("oom_score_adj"), base);
	if (base == 0) {
		score = rd("oom_score");
		CHECK(score >= 666 && score < 1333);
	}

	if (privileged) {
		// The value a writer with CAP_SYS_RESOURCE sets is the floor.
		set_cap(CAP_SYS_RESOURCE, 1);
		CHECK_OK(wr("oom_score_adj", "-1000"));
		CHECK_EQ(rd("oom_score"), 0);
		CHECK_OK(wr("oom_score_adj", "-500"));
		set_cap(CAP_SYS_RESOURCE, 0);
		CHECK_ERR(wr("oom_score_adj", "-600"), EACCES);
		CHECK_OK(wr("oom_score_adj", "-400"));
		CHECK_OK(wr("oom_score_adj", "-500"));
		CHECK_EQ(rd("oom_score_adj"), -500);
	}
}

int main(void) {
	// In a child: the adjustments stay with it.
	fflush(NULL);
	pid_t pid = XFORK();
	if (pid == 0) {
		adjust();
		_exit(0);
	}
	WAIT_EXIT(pid, 0);
	return 0;
}
