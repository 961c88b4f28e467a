// fork_cow: after fork, private memory (globals, heap, stack, private
// anonymous and file mappings, and a page that was read-only at fork time
// and is made writable afterwards) is copy-on-write: writes on either side
// after the fork are invisible to the other.
//
//go:build ignore

#include "task_check.h"

static char global[8192] = "global";

int main(int argc, char **argv) {
	long pg = page_size();
	char *heap = malloc(100000);
	CHECK(heap != NULL);
	memset(heap, 'h', 100000);
	char stack[256];
	memset(stack, 's', sizeof stack);
	char *anon = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(anon != MAP_FAILED);
	memset(anon, 'a', 2 * pg); // pages 2 and 3 are never touched before fork
	char *ro = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(ro != MAP_FAILED);
	memset(ro, 'r', pg);
	CHECK_OK(mprotect(ro, pg, PROT_READ));
	int fd = open(fixture(argc, argv, "big.bin"), O_RDONLY);
	CHECK(fd >= 0);
	unsigned char *file = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	CHECK(file != MAP_FAILED);
	file[0] = 0xee; // one page already copied, one still the file's

	int p2c[2], c2p[2];
	CHECK_OK(pipe(p2c));
	CHECK_OK(pipe(c2p));
	pid_t pid = XFORK();
	if (pid == 0) {
		char c;
		CHECK_EQ(read(p2c[0], &c, 1), 1); // the parent has written its side
		CHECK(strcmp(global, "global") == 0);
		CHECK_FILL(heap, 'h', 100000);
		CHECK_FILL(stack, 's', sizeof stack);
		CHECK_FILL(anon, 'a', 2 * pg);
		CHECK_FILL(anon + 2 * pg, 0, 2 * pg);
		CHECK_FILL(ro, 'r', pg);
		CHECK_EQ(file[0], 0xee);
		CHECK_EQ(file[pg + 1], (pg + 1) % 251);
		// Now the child's writes.
		strcpy(global, "child");
		memset(heap, 'H', 100000);
		memset(stack, 'S', sizeof stack);
		memset(anon, 'A', 4 * pg);
		CHECK_OK(mprotect(ro, pg, PROT_READ | PROT_WRITE));
		memset(ro, 'R', pg);
		file[0] = 0x11;
		file[pg + 1] = 0x22;
		CHECK_EQ(write(c2p[1], "w", 1), 1);
		_exit(0);
	}
	// The parent's writes, before the child looks.
	strcpy(global + 100, "parent");
	heap[50000] = 'p';
	anon[3 * pg] = 'p';
	file[pg] = 0x33;
	CHECK_EQ(write(p2c[1], "g", 1), 1);
	char c;
	CHECK_EQ(read(c2p[0], &c, 1), 1);
	WAIT_EXIT(pid, 0);

	CHECK(strcmp(global, "global") == 0);
	CHECK(strcmp(global + 100, "parent") == 0);
	CHECK_FILL(heap, 'h', 50000);
	CHECK_EQ(heap[50000], 'p');
	CHECK_FILL(heap + 50001, 'h', 100000 - 50001);
	CHECK_FILL(stack, 's', sizeof stack);
	CHECK_FILL(anon, 'a', 2 * pg);
	CHECK_FILL(anon + 2 * pg, 0, pg);
	CHECK_EQ(anon[3 * pg], 'p');
	CHECK_FILL(ro, 'r', pg);
	CHECK_EQ(file[0], 0xee);
	CHECK_EQ(file[pg], 0x33);
	CHECK_EQ(file[pg + 1], (pg + 1) % 251);
	// The file itself was never written.
	unsigned char b[2];
	CHECK_EQ(pread(fd, b, 2, 0), 2);
	CHECK_EQ(b[0], 0);
	CHECK_EQ(b[1], 1);
	return 0;
}
