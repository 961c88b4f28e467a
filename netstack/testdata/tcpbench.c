// tcpbench: TCP over 127.0.0.1 between two processes: prints
// "throughput_mibps N" (64 MiB one way) and "connects_per_s N" (connect,
// accept, close, 500 times). Built by bench_test.go.
//
//go:build ignore

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void) {
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	if (bind(l, (void *)&a, sizeof a) || listen(l, 128) || getsockname(l, (void *)&a, &al))
		return 1;
	const long total = 64L << 20;
	static char buf[256 << 10];
	pid_t pid = fork();
	if (pid == 0) {
		int c = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(c, (void *)&a, sizeof a))
			_exit(1);
		for (long done = 0; done < total;) {
			ssize_t n = write(c, buf, sizeof buf);
			if (n <= 0)
				_exit(1);
			done += n;
		}
		close(c);
		for (int i = 0; i < 500; i++) {
			c = socket(AF_INET, SOCK_STREAM, 0);
			if (connect(c, (void *)&a, sizeof a))
				_exit(1);
			close(c);
		}
		_exit(0);
	}
	int s = accept(l, NULL, NULL);
	double t0 = now();
	long got = 0;
	for (ssize_t n; (n = read(s, buf, sizeof buf)) > 0;)
		got += n;
	double t1 = now();
	close(s);
	for (int i = 0; i < 500; i++)
		close(accept(l, NULL, NULL));
	double t2 = now();
	int st;
	waitpid(pid, &st, 0);
	if (got != total || st != 0)
		return 1;
	printf("throughput_mibps %.1f\nconnects_per_s %.1f\n", (total >> 20) / (t1 - t0), 500 / (t2 - t1));
	return 0;
}
