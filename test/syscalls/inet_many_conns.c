// inet_many_conns: 100 concurrent TCP connections to one listener (backlog
// 128): all connect, all are accepted, each carries its own bytes both
// ways, and all close cleanly.
//
//go:build ignore

#include "inet_check.h"

#define N 100

int main(void) {
	int l = listener(AF_INET, 128);
	int port = port_of(l);
	int c[N], a[N];
	for (int i = 0; i < N; i++) {
		c[i] = socket(AF_INET, SOCK_STREAM, 0);
		CHECK(c[i] >= 0);
		CHECK_OK(connect_to(c[i], AF_INET, port));
	}
	for (int i = 0; i < N; i++) {
		a[i] = accept(l, NULL, NULL);
		CHECK(a[i] >= 0);
	}
	// Match accepted sockets to clients by port.
	for (int i = 0; i < N; i++) {
		int v = i;
		CHECK_EQ(write(c[i], &v, sizeof v), sizeof v);
	}
	for (int i = 0; i < N; i++) {
		int v;
		CHECK_EQ(read(a[i], &v, sizeof v), sizeof v);
		CHECK(v >= 0 && v < N);
		struct sockaddr_in p;
		socklen_t pl = sizeof p;
		CHECK_OK(getpeername(a[i], (struct sockaddr *)&p, &pl));
		CHECK_EQ(ntohs(p.sin_port), port_of(c[v]));
		v = ~v;
		CHECK_EQ(write(a[i], &v, sizeof v), sizeof v);
	}
	for (int i = 0; i < N; i++) {
		int v;
		CHECK_EQ(read(c[i], &v, sizeof v), sizeof v);
		CHECK_EQ(v, ~i);
		close(c[i]);
	}
	for (int i = 0; i < N; i++) {
		char b;
		CHECK_EQ(read(a[i], &b, 1), 0);
		close(a[i]);
	}
	return 0;
}
