/* A user's own TCP server for `syswalk prove -- ./server PORTFILE`: socket, setsockopt(SO_REUSEADDR), bind to
 * 127.0.0.1 port 0, getsockname, listen, then writes the port to PORTFILE; accepts one connection, reads what
 * comes, answers "pong!", closes both. Exit 0, or the step that failed. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_in a = {0}, peer = {0};
	socklen_t len = sizeof(a), plen = sizeof(peer);
	char buf[64];
	int one = 1, l, c;
	FILE *f;

	if (argc != 2)
		return 2;
	l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		return 3;
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) || getsockname(l, (struct sockaddr *)&a, &len) || listen(l, 16))
		return 4;
	f = fopen(argv[1], "w");
	if (!f || fprintf(f, "%d\n", ntohs(a.sin_port)) < 0 || fclose(f))
		return 5;
	c = accept4(l, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
	if (c < 0)
		return 6;
	if (read(c, buf, sizeof(buf)) <= 0 || write(c, "pong!", 5) != 5)
		return 7;
	close(c);
	close(l);
	return 0;
}
