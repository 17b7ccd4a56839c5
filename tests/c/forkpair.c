/* The most common server shape: a parent that listens and a forked child as its client. The parent binds
 * 127.0.0.1:PORT (argv[1]; with a second argument "6", [::1]:PORT over AF_INET6) with backlog 7 and forks; the child
 * closes its copy of the listener, then (socket() its first call of its own) connects, writes "ping", reads the
 * answer and closes; the parent accepts, reads, answers "pong!", closes both and waits for the child. Exit 0, or the
 * step that failed. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int child(int family, struct sockaddr *a, socklen_t len)
{
	char buf[16];
	int s = socket(family, SOCK_STREAM, 0);
	if (s < 0 || connect(s, a, len))
		return 10;
	if (write(s, "ping", 4) != 4 || read(s, buf, sizeof(buf)) != 5)
		return 11;
	close(s);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a4 = {0};
	struct sockaddr_in6 a6 = {0};
	struct sockaddr *a;
	socklen_t len;
	char buf[16];
	int one = 1, l, c, st = 0, family;
	pid_t p;

	if (argc < 2)
		return 2;
	if (argc > 2 && strcmp(argv[2], "6") == 0) {
		family = AF_INET6;
		a6.sin6_family = AF_INET6;
		a6.sin6_port = htons(atoi(argv[1]));
		a6.sin6_addr = in6addr_loopback;
		a = (struct sockaddr *)&a6;
		len = sizeof(a6);
	} else {
		family = AF_INET;
		a4.sin_family = AF_INET;
		a4.sin_port = htons(atoi(argv[1]));
		a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a = (struct sockaddr *)&a4;
		len = sizeof(a4);
	}
	l = socket(family, SOCK_STREAM, 0);
	if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		return 3;
	if (bind(l, a, len) || listen(l, 7))
		return 4;
	p = fork();
	if (p < 0)
		return 5;
	if (p == 0) {
		close(l);
		_exit(child(family, a, len));
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
