/* The course's first line, as a program: socket(AF_INET, SOCK_STREAM, 0), compiled with this machine's headers. */
#include <stdio.h>
#include <sys/socket.h>

int main(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	printf("%d\n", fd);
	return fd < 0;
}
