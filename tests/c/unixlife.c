/* An AF_UNIX stream server and client in one process: socket, bind (to a path under argv[1]), listen, socket,
 * connect, accept, close ×3. Unix socks have no state-change tracepoint: listen.state must not be refuted. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    snprintf(a.sun_path, sizeof a.sun_path, "%s/u.sock", argv[1]);
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 4)) { perror("server"); return 1; }
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof a)) { perror("connect"); return 1; }
    int s = accept(l, NULL, NULL);
    if (s < 0) { perror("accept"); return 1; }
    close(s);
    close(c);
    close(l);
    unlink(a.sun_path);
    return 0;
}
