/* Noise: socket()+close() in a loop for argv[1] milliseconds, from another process. */
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long ms = argc > 1 ? atol(argv[1]) : 1000;
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	long n = 0;
	for (;;) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd >= 0)
			close(fd);
		n++;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000 > ms)
			break;
	}
	return n > 0 ? 0 : 1;
}
