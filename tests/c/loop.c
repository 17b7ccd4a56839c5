/* Benchmark target: argv[1] iterations of socket(AF_INET, SOCK_STREAM, 0) + close(); prints iterations/s.
 * argv[2] (default 1000) iterations run first, untimed: under TCG the first passes through new kernel paths pay for
 * translation, which made short untraced runs vary 2x. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;
	long warm = argc > 2 ? atol(argv[2]) : 1000;
	struct timespec a, b;
	for (long i = 0; i < warm; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			return 1;
		close(fd);
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			return 1;
		close(fd);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	double s = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	printf("%ld %.6f %.0f\n", n, s, n / s);
	return 0;
}
