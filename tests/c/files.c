/* Opens one file of each kind, then closes them in this order: pipe (read end), eventfd, directory, epoll,
 * timerfd, socket. syswalk must walk only the socket as a struct socket. */
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

int main(void)
{
	int p[2];
	if (pipe(p))
		return 1;
	int fds[] = {p[0], eventfd(0, 0), open("/", O_RDONLY | O_DIRECTORY), epoll_create1(0),
		     timerfd_create(CLOCK_MONOTONIC, 0), socket(AF_INET, SOCK_STREAM, 0)};
	for (unsigned i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (fds[i] < 0)
			return 2;
		close(fds[i]);
	}
	return 0;
}
