// setgroups(2) keeps the supplementary groups sorted: getgroups returns
// them in ascending order whatever order they were given in (Linux's
// groups_sort), duplicates included. Needs CAP_SETGID; without root it
// checks only that getgroups works.
//
//go:build ignore

#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void fail(const char *msg) {
	fprintf(stderr, "FAIL: %s\n", msg);
	exit(1);
}

int main(void) {
	gid_t got[16];
	if (getgroups(16, got) < 0)
		fail("getgroups");
	if (geteuid() != 0) {
		puts("ok (not root: setgroups not checked)");
		return 0;
	}
	gid_t want[] = {50000, 1234, 7, 1234, 3};
	if (setgroups(5, want) != 0)
		fail("setgroups");
	int n = getgroups(16, got);
	if (n != 5)
		fail("getgroups count");
	gid_t sorted[] = {3, 7, 1234, 1234, 50000};
	for (int i = 0; i < n; i++)
		if (got[i] != sorted[i]) {
			fprintf(stderr, "FAIL: group %d is %u, want %u\n", i, got[i], sorted[i]);
			return 1;
		}
	puts("ok");
	return 0;
}
