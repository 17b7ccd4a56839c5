/* Test target: makes one socket() per argument "family:type:protocol", keeps them open, prints the fds. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		int f, t, p;
		if (sscanf(argv[i], "%d:%d:%d", &f, &t, &p) != 3)
			return 2;
		int fd = socket(f, t, p);
		printf("%d\n", fd);
	}
	return 0;
}
