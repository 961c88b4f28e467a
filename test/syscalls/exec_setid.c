// exec_setid: execve of a set-user-ID file makes the effective, saved and
// file-system user IDs the file's owner; a set-group-ID file with group
// execute does the same for the group IDs (without group execute the bit
// is ignored). Capabilities follow the legacy root rules: a set-user-ID-
// root program gets the bounding set as permitted and effective; a root
// caller running a set-user-ID non-root program keeps the permitted set
// but not the effective one. AT_SECURE is 1 whenever the new effective IDs
// differ from the old real ones, the process becomes non-dumpable then
// (fs.suid_dumpable 0), and no_new_privs or a nosuid mount make the bits
// ignored. Needs root (skipped otherwise).
//
//go:build ignore

#include "fs_check.h"
#include "procfs_check.h"
#include <sys/auxv.h>
#include <sys/fsuid.h>
#include <sys/mount.h>

static unsigned long long cap(const char *key) {
	char s[8192], v[64];
	READ_PROC("/proc/self/status", s);
	return strtoull(status_field(s, key, v, sizeof v), NULL, 16);
}

static void want_ids(uid_t r, uid_t e, gid_t gr, gid_t ge) {
	uid_t a, b, c;
	CHECK_OK(getresuid(&a, &b, &c));
	CHECK_EQ(a, r);
	CHECK_EQ(b, e);
	CHECK_EQ(c, e);
	CHECK_EQ(setfsuid(-1), (int)e);
	gid_t ga, gb, gc;
	CHECK_OK(getresgid(&ga, &gb, &gc));
	CHECK_EQ(ga, gr);
	CHECK_EQ(gb, ge);
	CHECK_EQ(gc, ge);
	CHECK_EQ(setfsgid(-1), (int)ge);
	CHECK_EQ(getauxval(AT_UID), r);
	CHECK_EQ(getauxval(AT_EUID), e);
	CHECK_EQ(getauxval(AT_GID), gr);
	CHECK_EQ(getauxval(AT_EGID), ge);
	// /proc agrees.
	char s[8192], v[128];
	unsigned x[4];
	READ_PROC("/proc/self/status", s);
	CHECK_EQ(sscanf(status_field(s, "Uid", v, sizeof v), "%u %u %u %u", &x[0], &x[1], &x[2], &x[3]), 4);
	CHECK(x[0] == r && x[1] == e && x[2] == e && x[3] == e);
}

// child runs in the exec'd program; mode says what to expect.
static int child(const char *mode) {
	int secure = getauxval(AT_SECURE);
	int dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
	if (strcmp(mode, "suid") == 0) { // uid 2000 ran a 04755 file of 1000
		want_ids(2000, 1000, 2000, 2000);
		CHECK_EQ(secure, 1);
		CHECK_EQ(dumpable, 0);
		CHECK_EQ(cap("CapPrm"), 0);
		CHECK_EQ(cap("CapEff"), 0);
	} else if (strcmp(mode, "plain") == 0) { // uid 2000 ran it with the bits ignored
		want_ids(2000, 2000, 2000, 2000);
		CHECK_EQ(secure, 0);
		CHECK_EQ(dumpable, 1);
		CHECK_EQ(cap("CapEff"), 0);
	} else if (strcmp(mode, "sgid") == 0) { // gid 2000 ran a 02755 file of group 3000
		want_ids(2000, 2000, 2000, 3000);
		CHECK_EQ(secure, 1);
		CHECK_EQ(dumpable, 0);
	} else if (strcmp(mode, "suidroot") == 0) { // uid 2000 ran a 04755 file of root
		want_ids(2000, 0, 2000, 2000);
		CHECK_EQ(secure, 1);
		CHECK_EQ(dumpable, 0);
		CHECK_EQ(cap("CapPrm"), cap("CapBnd"));
		CHECK_EQ(cap("CapEff"), cap("CapBnd"));
		CHECK_EQ(cap("CapAmb"), 0);
	} else if (strcmp(mode, "rootreal") == 0) { // root ran a 04755 file of 1000
		want_ids(0, 1000, 0, 0);
		CHECK_EQ(secure, 1);
		CHECK_EQ(dumpable, 0);
		CHECK_EQ(cap("CapPrm"), cap("CapBnd"));
		CHECK_EQ(cap("CapEff"), 0);
	} else if (strcmp(mode, "euid") == 0) { // ruid 2000, euid 1000 ran a plain file
		want_ids(2000, 1000, 2000, 2000);
		CHECK_EQ(secure, 1);
		CHECK_EQ(dumpable, 0);
	} else {
		FAIL("unknown mode %s", mode);
	}
	return 0;
}

// copy makes dst a copy of this program owned by uid:gid with mode.
static void copy(const char *dst, uid_t uid, gid_t gid, mode_t mode) {
	static char buf[1 << 16];
	int in = open("/proc/self/exe", O_RDONLY);
	CHECK(in >= 0);
	int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0700);
	CHECK(out >= 0);
	ssize_t n;
	while ((n = read(in, buf, sizeof buf)) > 0)
		CHECK_EQ(write(out, buf, n), n);
	CHECK_EQ(n, 0);
	close(in);
	CHECK_OK(close(out));
	CHECK_OK(chown(dst, uid, gid));
	CHECK_OK(chmod(dst, mode));
}

enum { AS_ROOT, AS_2000, AS_2000_NNP, AS_2000_EUID1000 };

// run execs path in a child with the given identity and mode argument.
static void run(const char *fixture, int how, const char *path, const char *mode) {
	pid_t c = XFORK();
	if (c == 0) {
		if (how != AS_ROOT) {
			CHECK_OK(setgroups(0, NULL));
			CHECK_OK(setresgid(2000, 2000, 2000));
			if (how == AS_2000_EUID1000)
				CHECK_OK(setresuid(2000, 1000, 1000));
			else
				CHECK_OK(setresuid(2000, 2000, 2000));
		}
		if (how == AS_2000_NNP)
			CHECK_OK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
		execl(path, path, fixture, mode, (char *)NULL);
		FAIL("execl %s (errno %d %s)", path, errno, errname(errno));
	}
	int ws = WAITPID(c, 0);
	if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
		FAIL("%s as %d, mode %s: %s", path, how, mode, wstatus_str(ws));
}

int main(int argc, char **argv) {
	if (argc > 2)
		return child(argv[2]);
	if (geteuid() != 0)
		return 0;
	const char *fx = argv[1];
	scratch();
	copy(spath("suid"), 1000, 1000, 04755);
	copy(spath("sgid"), 1000, 3000, 02755);
	copy(spath("sgid-nox"), 1000, 3000, 02745);
	copy(spath("suidroot"), 0, 0, 04755);
	copy(spath("plain"), 0, 0, 0755);

	run(fx, AS_2000, spath("suid"), "suid");
	run(fx, AS_2000_NNP, spath("suid"), "plain");
	run(fx, AS_2000, spath("sgid"), "sgid");
	run(fx, AS_2000, spath("sgid-nox"), "plain");
	run(fx, AS_2000, spath("suidroot"), "suidroot");
	run(fx, AS_2000_NNP, spath("suidroot"), "plain");
	run(fx, AS_ROOT, spath("suid"), "rootreal");
	run(fx, AS_2000, spath("plain"), "plain");
	run(fx, AS_2000_EUID1000, spath("plain"), "euid");

	// A nosuid mount ignores the bits.
	CHECK_OK(mkdir(spath("m"), 0755));
	if (unshare(CLONE_NEWNS) != 0)
		CHECK_EQ(errno, EINVAL);
	CHECK_OK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	CHECK_OK(mount("tmpfs", spath("m"), "tmpfs", MS_NOSUID, "mode=0755"));
	copy(spath("m/suid"), 1000, 1000, 04755);
	run(fx, AS_2000, spath("m/suid"), "plain");
	// Remounted without nosuid, they count again.
	CHECK_OK(mount(NULL, spath("m"), NULL, MS_REMOUNT, NULL));
	run(fx, AS_2000, spath("m/suid"), "suid");
	CHECK_OK(umount2(spath("m"), 0));
	return 0;
}
