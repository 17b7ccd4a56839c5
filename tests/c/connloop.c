/* Benchmark target: argv[1] loopback TCP connections, each connect → accept4 → write 4 bytes → read them →
 * write 5 back → read them → close both (the server's end first, so no client port waits in TIME_WAIT); one
 * listener for all. argv[2] (default 50) connections run first, untimed (TCG translation). Prints
 * "N seconds connections/s". Exit 0, or the step that failed. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int one(int l, const struct sockaddr_in *a)
{
	char buf[8];
	int c = socket(AF_INET, SOCK_STREAM, 0), s;
	if (c < 0 || connect(c, (const struct sockaddr *)a, sizeof(*a)))
		return 3;
	s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	if (s < 0)
		return 4;
	if (write(c, "ping", 4) != 4 || read(s, buf, sizeof(buf)) != 4)
		return 5;
	if (write(s, "pong!", 5) != 5 || read(c, buf, sizeof(buf)) != 5)
		return 6;
	close(s);
	close(c);
	return 0;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000, warm = argc > 2 ? atol(argv[2]) : 50;
	struct sockaddr_in a = {0};
	socklen_t len = sizeof(a);
	struct timespec t0, t1;
	int l = socket(AF_INET, SOCK_STREAM, 0), rc;
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) || getsockname(l, (struct sockaddr *)&a, &len) ||
	    listen(l, 64))
		return 2;
	for (long i = 0; i < warm; i++)
		if ((rc = one(l, &a)))
			return rc;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < n; i++)
		if ((rc = one(l, &a)))
			return rc;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("%ld %.6f %.0f\n", n, s, n / s);
	close(l);
	return 0;
}
