/* The shapes of ordinary TCP that a prover must not call wrong, over 127.0.0.1:PORT (argv[1]), from one process:
 *  1. a non-blocking connect(): EINPROGRESS, the handshake completed later (poll), SO_ERROR 0;
 *  2. a non-blocking read() with nothing to read: EAGAIN;
 *  3. a client that connects, writes and closes before the server's accept() runs;
 *  4. a reset: the server closes with SO_LINGER {1, 0} (an RST instead of a FIN) while data is unread; the client's
 *     next read() fails with ECONNRESET;
 *  5. a half-close: the client shuts down its writing side, the server reads the end of stream and answers, the
 *     client reads the answer after its own FIN.
 * Exit 0, or the step that failed. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_in a = {0};
	struct linger lg = {1, 0};
	struct pollfd p;
	char buf[64];
	int one = 1, l, c, s, err = 0;
	socklen_t el = sizeof(err);

	if (argc < 2)
		return 2;
	a.sin_family = AF_INET;
	a.sin_port = htons(atoi(argv[1]));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 8))
		return 3;

	/* 1 and 2 */
	c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (c < 0)
		return 10;
	if (connect(c, (struct sockaddr *)&a, sizeof(a)) == 0 || errno != EINPROGRESS) {
		/* loopback may complete at once: that is allowed too */
		if (errno != EINPROGRESS && errno != 0)
			return 11;
	}
	p.fd = c;
	p.events = POLLOUT;
	if (poll(&p, 1, 2000) != 1 || getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el) || err)
		return 12;
	s = accept4(l, NULL, NULL, 0);
	if (s < 0)
		return 13;
	if (read(c, buf, sizeof(buf)) != -1 || errno != EAGAIN)
		return 14;
	close(c);
	close(s);

	/* 3: the client is gone before accept() */
	c = socket(AF_INET, SOCK_STREAM, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)) || write(c, "early", 5) != 5)
		return 20;
	close(c);
	usleep(50000);
	s = accept4(l, NULL, NULL, 0);
	if (s < 0 || read(s, buf, sizeof(buf)) != 5 || read(s, buf, sizeof(buf)) != 0)
		return 21;
	close(s);

	/* 4: a reset */
	c = socket(AF_INET, SOCK_STREAM, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)))
		return 30;
	s = accept4(l, NULL, NULL, 0);
	if (s < 0 || write(c, "unread", 6) != 6)
		return 31;
	usleep(20000);
	if (setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)))
		return 32;
	close(s);
	usleep(20000);
	if (read(c, buf, sizeof(buf)) != -1 || errno != ECONNRESET)
		return 33;
	close(c);

	/* 5: a half-close */
	c = socket(AF_INET, SOCK_STREAM, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)))
		return 40;
	s = accept4(l, NULL, NULL, 0);
	if (s < 0 || write(c, "ask", 3) != 3 || shutdown(c, SHUT_WR))
		return 41;
	if (read(s, buf, sizeof(buf)) != 3 || read(s, buf, sizeof(buf)) != 0 || write(s, "answer", 6) != 6)
		return 42;
	close(s);
	if (read(c, buf, sizeof(buf)) != 6 || read(c, buf, sizeof(buf)) != 0)
		return 43;
	close(c);
	close(l);
	return 0;
}
