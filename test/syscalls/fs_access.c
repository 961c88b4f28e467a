// fs_access: access/faccessat check R_OK/W_OK/X_OK against the real ids:
// for root, R/W always pass but X_OK needs some execute bit (EACCES
// otherwise, except on directories); as uid 65534 the mode bits decide;
// with real uid 65534 and effective uid 0, access() denies while
// faccessat(AT_EACCESS) uses the effective id and allows; AT_SYMLINK_NOFOLLOW
// checks the link; bad modes EINVAL. Needs root for the id games.
//
//go:build ignore

#include "fs_check.h"

static void child(void *arg) {
	(void)arg;
	CHECK_ERR(access(spath("p600"), R_OK), EACCES);
	CHECK_ERR(access(spath("p600"), W_OK), EACCES);
	CHECK_OK(access(spath("p600"), F_OK));
	CHECK_OK(access(spath("p644"), R_OK));
	CHECK_ERR(access(spath("p644"), R_OK | W_OK), EACCES);
	CHECK_OK(access(spath("p755"), R_OK | X_OK));
	CHECK_ERR(access(spath("p644"), X_OK), EACCES);
	CHECK_OK(faccessat(AT_FDCWD, spath("p644"), R_OK, AT_EACCESS));
	CHECK_ERR(access(spath("closed/f"), F_OK), EACCES);
}

int main(void) {
	scratch();
	make_file(spath("p600"), 0600, NULL, 0);
	make_file(spath("p644"), 0644, NULL, 0);
	make_file(spath("p755"), 0755, NULL, 0);
	make_file(spath("p000"), 0000, NULL, 0);
	CHECK_OK(mkdir(spath("closed"), 0700));
	make_file(spath("closed/f"), 0644, NULL, 0);
	CHECK_ERR(access(spath("missing"), F_OK), ENOENT);
	CHECK_ERR(access(spath("p644/x"), F_OK), ENOTDIR);
	CHECK_ERR(access(spath("p644"), 8), EINVAL);
	CHECK_ERR(faccessat(AT_FDCWD, spath("p644"), R_OK, 0x1), EINVAL);
	CHECK_OK(symlink("missing", spath("dangling")));
	CHECK_ERR(access(spath("dangling"), F_OK), ENOENT);
	CHECK_OK(faccessat(AT_FDCWD, spath("dangling"), F_OK, AT_SYMLINK_NOFOLLOW));
	if (geteuid() != 0)
		return 0;

	CHECK_OK(access(spath("p000"), R_OK | W_OK));
	CHECK_ERR(access(spath("p000"), X_OK), EACCES);
	CHECK_ERR(access(spath("p644"), X_OK), EACCES);
	CHECK_OK(access(spath("p755"), X_OK));
	CHECK_OK(access(spath("closed"), X_OK)); // directories: search ok
	as_nobody(child, NULL);

	// Real uid nobody, effective uid root.
	fflush(NULL);
	pid_t pid = XFORK();
	if (pid == 0) {
		CHECK_OK(setresuid(NOBODY, 0, 0));
		CHECK_ERR(access(spath("p600"), R_OK), EACCES);
		CHECK_OK(faccessat(AT_FDCWD, spath("p600"), R_OK, AT_EACCESS));
		CHECK_OK(faccessat(AT_FDCWD, spath("p600"), R_OK | W_OK, AT_EACCESS));
		// The raw faccessat (no flags) uses the real ids.
		CHECK_ERR(syscall(SYS_faccessat, AT_FDCWD, spath("p600"), R_OK), EACCES);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);
	return 0;
}
