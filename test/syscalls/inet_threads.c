// inet_threads: a server thread blocks in accept and recv while the main
// thread connects and sends over ::1; blocking calls in one thread do not
// stop the others.
//
//go:build ignore

#include "inet_check.h"
#include <pthread.h>

static int lfd;

static void *server(void *arg) {
	int a = accept(lfd, NULL, NULL);
	CHECK(a >= 0);
	char buf[64];
	size_t got = 0;
	while (got < 40) {
		ssize_t n = recv(a, buf + got, sizeof buf - got, 0);
		CHECK(n > 0);
		got += n;
	}
	CHECK_EQ(send(a, buf, got, 0), (ssize_t)got);
	close(a);
	return NULL;
}

int main(void) {
	lfd = listener(AF_INET6, 4);
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, server, NULL), 0);
	usleep(20000);
	int c = socket(AF_INET6, SOCK_STREAM, 0);
	CHECK_OK(connect_to(c, AF_INET6, port_of(lfd)));
	char msg[40];
	for (int i = 0; i < 40; i++)
		msg[i] = 'A' + i % 26;
	for (int i = 0; i < 40; i += 10) {
		CHECK_EQ(send(c, msg + i, 10, 0), 10);
		usleep(5000);
	}
	char back[40];
	CHECK_EQ(recv(c, back, sizeof back, MSG_WAITALL), 40);
	CHECK_MEM(back, msg, 40);
	CHECK_EQ(pthread_join(th, NULL), 0);
	return 0;
}
