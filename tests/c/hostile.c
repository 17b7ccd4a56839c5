/* Renames itself to a hostile comm (terminal escape, Markdown and HTML metacharacters), then makes one
 * socket() call. Its argv carries whatever hostile text the test passes. */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
	if (prctl(PR_SET_NAME, "\x1b[31m|`<b>x", 0, 0, 0))
		return 1;
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0)
		return 2;
	close(s);
	return 0;
}
