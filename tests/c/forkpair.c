/* The most common server shape: a parent that listens and a forked child as its client. The parent binds
 * 127.0.0.1:PORT (argv[1]) with backlog 7 and forks; the child (its first system call after fork() is socket())
 * connects, writes "ping", reads the answer and closes; the parent accepts, reads, answers "pong!", closes both and
 * waits for the child. Exit 0, or the step that failed. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int child(struct sockaddr_in *a)
{
	char buf[16];
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0 || connect(s, (struct sockaddr *)a, sizeof(*a)))
		return 10;
	if (write(s, "ping", 4) != 4 || read(s, buf, sizeof(buf)) != 5)
		return 11;
	close(s);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = {0};
	char buf[16];
	int one = 1, l, c, st = 0;
	pid_t p;

	if (argc != 2)
		return 2;
	a.sin_family = AF_INET;
	a.sin_port = htons(atoi(argv[1]));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		return 3;
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 7))
		return 4;
	p = fork();
	if (p < 0)
		return 5;
	if (p == 0) {
		close(l);
		_exit(child(&a));
	}
	c = accept4(l, NULL, NULL, 0);
	if (c < 0 || read(c, buf, sizeof(buf)) != 4 || write(c, "pong!", 5) != 5)
		return 6;
	close(c);
	close(l);
	if (waitpid(p, &st, 0) != p || !WIFEXITED(st))
		return 7;
	return WEXITSTATUS(st);
}
