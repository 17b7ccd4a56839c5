/* A user's own TCP client: waits for PORTFILE (written by server.c), connects to 127.0.0.1:PORT, writes "ping",
 * reads the answer, closes. Exit 0, or the step that failed. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_in a = {0};
	struct timespec ms = {0, 10 * 1000 * 1000};
	char buf[64];
	int port = 0, s, i;
	FILE *f = NULL;

	if (argc != 2)
		return 2;
	for (i = 0; i < 1000 && port <= 0; i++) {
		f = fopen(argv[1], "r");
		if (f) {
			if (fscanf(f, "%d", &port) != 1)
				port = 0;
			fclose(f);
		}
		if (port <= 0)
			nanosleep(&ms, NULL);
	}
	if (port <= 0)
		return 3;
	s = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)))
		return 4;
	if (write(s, "ping", 4) != 4 || read(s, buf, sizeof(buf)) != 5)
		return 5;
	close(s);
	return 0;
}
