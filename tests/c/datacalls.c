/* The calls real programs use to move bytes, over one loopback TCP connection: a parent that listens on
 * 127.0.0.1:PORT (argv[1]) and a forked child as its client. The child sends with send(), sendto(), sendmsg(),
 * writev() and sendfile() (from a file of 64 bytes), asks getpeername(), half-closes with shutdown(SHUT_WR), reads
 * the end of stream the parent's close sends, and closes. The parent accepts, waits until all 5+6+7+8+64 = 90
 * bytes are queued (so every receive takes bytes that were unread at its entry), peeks at 4 of them
 * (recv MSG_PEEK: copies, takes nothing), then takes them with recv(), recvfrom(), recvmsg() and readv(), reads the
 * end of stream, and closes. Exit 0, or the step that failed. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define TOTAL 90

static int child(struct sockaddr_in *a)
{
	char data[64], path[] = "/tmp/syswalk-datacalls-XXXXXX";
	struct sockaddr_in peer;
	socklen_t plen = sizeof(peer);
	struct iovec iov[2] = {{"msg", 3}, {"-msg", 4}};
	struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2};
	struct iovec wv[2] = {{"wri", 3}, {"tev!!", 5}};
	int s = socket(AF_INET, SOCK_STREAM, 0), f = mkstemp(path);
	off_t off = 0;

	if (s < 0 || f < 0 || connect(s, (struct sockaddr *)a, sizeof(*a)))
		return 10;
	memset(data, 'f', sizeof(data));
	if (write(f, data, sizeof(data)) != sizeof(data))
		return 11;
	unlink(path);
	if (send(s, "send!", 5, 0) != 5 || sendto(s, "sendto", 6, 0, NULL, 0) != 6 || sendmsg(s, &m, 0) != 7 ||
	    writev(s, wv, 2) != 8 || sendfile(s, f, &off, sizeof(data)) != sizeof(data))
		return 12;
	close(f);
	if (getpeername(s, (struct sockaddr *)&peer, &plen) || peer.sin_port != a->sin_port)
		return 13;
	if (shutdown(s, SHUT_WR) || read(s, data, sizeof(data)) != 0)
		return 14;
	close(s);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = {0};
	char buf[128], b1[16], b2[64];
	struct iovec iov = {buf, 7};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	struct iovec rv[2] = {{b1, 8}, {b2, 64}};
	int one = 1, l, c, st = 0, queued = 0, tries;
	pid_t p;

	if (argc < 2)
		return 2;
	a.sin_family = AF_INET;
	a.sin_port = htons(atoi(argv[1]));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 7))
		return 3;
	p = fork();
	if (p == 0) {
		close(l);
		_exit(child(&a));
	}
	c = accept4(l, NULL, NULL, 0);
	if (c < 0)
		return 4;
	for (tries = 0; tries < 500 && queued < TOTAL; tries++) {
		usleep(10000);
		if (ioctl(c, FIONREAD, &queued))
			return 5;
	}
	if (queued < TOTAL)
		return 6;
	if (recv(c, buf, 4, MSG_PEEK) != 4 || recv(c, buf, 5, 0) != 5 || recvfrom(c, buf, 6, 0, NULL, NULL) != 6 ||
	    recvmsg(c, &m, 0) != 7 || readv(c, rv, 2) != 72 || read(c, buf, sizeof(buf)) != 0)
		return 7;
	close(c);
	close(l);
	if (waitpid(p, &st, 0) != p || !WIFEXITED(st))
		return 8;
	return WEXITSTATUS(st);
}
