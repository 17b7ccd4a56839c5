/* Test target: argv[1] threads (default 2), each making argv[2] (default 10) socket(AF_INET, SOCK_STREAM, 0) +
 * close() calls at the same time as the others (they start together at a barrier), so the calls of different
 * threads interleave in the kernel and, with 2 CPUs, run truly in parallel. Exits 0 if every call succeeded. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static pthread_barrier_t start;
static long per_thread = 10;

static void *worker(void *arg)
{
	long fails = 0;
	(void)arg;
	pthread_barrier_wait(&start);
	for (long i = 0; i < per_thread; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			fails++;
		else
			close(fd);
	}
	return (void *)fails;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 2;
	pthread_t t[64];
	long fails = 0;
	if (argc > 2)
		per_thread = atol(argv[2]);
	if (n < 1 || n > 64)
		return 2;
	pthread_barrier_init(&start, NULL, n);
	for (int i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, worker, NULL))
			return 3;
	for (int i = 0; i < n; i++) {
		void *r;
		pthread_join(t[i], &r);
		fails += (long)r;
	}
	return fails ? 1 : 0;
}
