// waitforever reads from a pipe whose write end it holds itself: it waits
// forever, as Linux lets it, once it has said so on stdout.
#include <stdio.h>
#include <unistd.h>

int main(void) {
	int p[2];
	char c;
	if (pipe(p) != 0)
		return 1;
	printf("waiting\n");
	fflush(stdout);
	return read(p[0], &c, 1) < 0;
}
