//! Every claim syswalk judges: its id and its one statement. A claim's `statement` is always this text, whatever
//! the verdict; what a run found out (the values, the names) goes in its `finding`. Add a claim here first.

/// A claim's id (stable: reports, lessons and tests refer to it) and what it states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimId {
    pub id: &'static str,
    pub statement: &'static str,
}

macro_rules! ids {
    ($($name:ident = $id:literal : $st:literal;)*) => {
        $(pub const $name: ClaimId = ClaimId { id: $id, statement: $st };)*
        /// All of them: for the uniqueness test, and for the lesson's checker (an id in a step's text is a
        /// citation, not a term).
        pub const ALL: &[ClaimId] = &[$($name),*];
    };
}

ids! {
    CALL_RETURNED = "call.returned": "the call returned";
    FD_LOWEST_FREE = "fd.lowest_free": "the returned fd was the lowest free slot of the fd table";
    FD_UNCHANGED_ON_FAILURE = "fd.unchanged_on_failure":
        "a failed socket() left the fd table as it found it (no fd leaked)";
    SOCKETS_NONE_LEFT = "sockets.none_left":
        "the kernel's counts of sockets in use (/proc/net/sockstat \"sockets: used\", and TCP's hashed socks in /proc/net/protocols) are the same before the built-in target ran and after it ended (it closes every socket it made): the failed call left no socket behind";
    FILE_PRIVATE_DATA_IS_SOCKET = "file.private_data_is_socket":
        "file->private_data of the returned fd holds a struct socket (one whose ->file points back to this file)";
    SOCKET_FILE_IS_FILE = "socket.file_is_file": "socket->file is the struct file installed at the returned fd";
    SOCKET_SK_IS_SOCK = "socket.sk_is_sock": "socket->sk points to a struct sock of the socket's family";
    SOCK_SK_SOCKET_BACKLINK = "sock.sk_socket_backlink":
        "sk->sk_socket points back to the struct socket (socket ⇄ sock)";
    SOCK_FAMILY_MATCHES_ARG = "sock.family_matches_arg": "sk->sk_family equals the family argument";
    SOCK_PROTOCOL_RESOLVED = "sock.protocol_resolved": "the protocol argument resolved to the sock's protocol";
    SOCKET_TYPE_MATCHES_ARG = "socket.type_matches_arg":
        "socket->type (and sk->sk_type) equal the type argument without its SOCK_NONBLOCK/SOCK_CLOEXEC flag bits";
    SOCKET_OPS_IS_FAMILY_OPS = "socket.ops_is_family_ops":
        "socket->ops is the family's proto_ops table (its ->family is the requested family)";
    CHAIN_ORDER = "chain.order":
        "the creation chain runs in the course's order: __sys_socket → __sock_create → security_socket_create → sock_alloc → <family>_create → sk_alloc → security_socket_post_create → sock_alloc_file → fd_install (those this kernel has as functions)";
    CHAIN_PARENTAGE = "chain.parentage":
        "each function was called by its parent in the tree, or by a named function between them that is not traced";
    PROVENANCE_SOCKET = "provenance.socket":
        "the struct socket sock_alloc returned is the one the family create received, file->private_data holds and sk->sk_socket points to";
    SOCKET_FILLED_BY_CREATE = "socket.filled_by_create":
        "the family create found the socket with sk and ops NULL and left both set";
    PROVENANCE_SOCK = "provenance.sock": "sk_alloc's return value is the socket's ->sk";
    PROVENANCE_FILE = "provenance.file":
        "sock_alloc_file's return value is what fd_install installed, and what fdt->fd[ret] holds";
    FD_INSTALL_FD_IS_RETURN = "fd_install.fd_is_return": "the fd that fd_install filled is the one socket() returned";
    LATENCY_PER_FUNCTION = "latency.per_function":
        "every traced function's inclusive and exclusive time was measured (entry and exit both seen)";
    CHAIN_COUNTS_COMPLETE = "chain.counts_complete":
        "every call of the chain's root was streamed in full or counted in the kernel, the total matches the calls at the syscall boundary, and every counted entry has its exit";
    KASLR_OFFSET_CONSTANT = "kaslr.offset_constant":
        "live address − link-time address is one constant for every kernel symbol";
    KASLR_OFFSET_MATCHES_BOOT = "kaslr.offset_matches_boot":
        "the offset agrees with how the kernel was booted (nokaslr, CONFIG_RANDOMIZE_BASE)";
    CONSTANTS_NR_SOCKET = "constants.nr_socket":
        "__NR_socket has the same value in the installed headers, the kernel and the traced call";
    CONSTANTS_AF_INET = "constants.af_inet":
        "AF_INET has the same value in the installed headers, the kernel and the traced call";
    CONSTANTS_SOCK_STREAM = "constants.sock_stream":
        "SOCK_STREAM has the same value in the installed headers, the kernel and the traced call";
    CONSTANTS_IPPROTO_IP = "constants.ipproto_ip":
        "IPPROTO_IP has the same value in the installed headers, the kernel and the traced call";
    SOURCE_LINES = "source.lines":
        "each chain function and observed caller address maps to a line of the running kernel's source, and the DWARF names the same function kallsyms does";
    DISPATCH_CODE = "dispatch.code":
        "sock_register's machine code addresses net_families, and link-time address + KASLR offset = the live address";
    DISPATCH_CREATE = "dispatch.create": "net_families[family]->create is the function __sock_create called";
    DISPATCH_INETSW = "dispatch.inetsw":
        "inetsw[type]'s first entry holds the protocol, struct proto and proto_ops the new socket got";
    DISPATCH_UNREGISTERED = "dispatch.unregistered":
        "socket() failed with EAFNOSUPPORT for a family inside the table (below NPROTO) whose slot net_families[family] held NULL, read live before the target ran and after it ended: no family is registered for it";
    DISPATCH_REGISTERED_AT_BOOT = "dispatch.registered_at_boot":
        "the pointer in net_families[family] was registered at boot by sock_register(), called from the family's init";
    USER_CALL_SITE = "user.call_site":
        "the binary loads rdi, rsi, rdx with AF_INET, SOCK_STREAM, 0 right before calling socket()";
    SAME_SOCKET = "fd.same_socket":
        "the call acted on the struct socket and struct sock that socket() or accept4() installed at this fd (fd → file → private_data → sk)";
    BIND_PORT = "bind.port":
        "after bind(), the sock's local port (inet_num, and ntohs(inet_sport)) is the requested one — for port 0, an ephemeral one inside net.ipv4.ip_local_port_range";
    BIND_ADDRESS = "bind.address": "after bind(), the sock's bound address (skc_rcv_saddr) is the requested one";
    BIND_BUCKET = "bind.bucket":
        "before bind() the sock had no bind bucket (icsk_bind_hash NULL); after it, a bucket holding its port";
    BIND_STILL_CLOSED = "bind.still_closed": "bind() leaves the sock in TCP_CLOSE: no state change inside the call";
    GETSOCKNAME_AGREES = "getsockname.agrees":
        "the address getsockname() wrote back is the sock's bound address and port";
    SHUTDOWN_FIN = "shutdown.fin":
        "shutdown() with SHUT_WR or SHUT_RDWR on an established TCP sock sent its FIN: inside the call the sock entered TCP_FIN_WAIT1 (TCP_LAST_ACK when the peer's FIN had come first)";
    GETPEERNAME_AGREES = "getpeername.agrees":
        "the address getpeername() wrote back is the sock's peer: its skc_daddr and skc_dport";
    LISTEN_STATE = "listen.state":
        "listen() moved the sock TCP_CLOSE → TCP_LISTEN: the state tracepoint saw that change inside the call and the walk after it shows TCP_LISTEN";
    LISTEN_BACKLOG = "listen.backlog": "sk_max_ack_backlog = min(backlog argument, net.core.somaxconn)";
    LISTEN_QUEUE_EMPTY = "listen.queue_empty": "after listen() the accept queue is empty (sk_ack_backlog 0)";
    CONNECT_PEER = "connect.peer":
        "after connect(), the sock's peer (skc_daddr, skc_dport) is the requested address and port, and its local port is an ephemeral one inside net.ipv4.ip_local_port_range";
    CONNECT_STATES = "connect.states":
        "connect() took the sock TCP_CLOSE → TCP_SYN_SENT → TCP_ESTABLISHED, in that order, inside the call (the handshake)";
    CONNECT_SOCKET_STATE = "connect.socket_state": "socket->state went SS_UNCONNECTED → SS_CONNECTED";
    CONNECT_LISTENER = "connect.listener": "the requested address and port are those of a listening sock in this run";
    CONNECT_REFUSED = "connect.refused":
        "connect() to a port no sock listens on failed with ECONNREFUSED: inside the call the sock went TCP_CLOSE → TCP_SYN_SENT → TCP_CLOSE, and after it the socket is SS_UNCONNECTED and the sock TCP_CLOSE";
    BIND_IN_USE = "bind.in_use":
        "bind() to an address another sock of this run holds failed with EADDRINUSE, and left the socket unbound (local port 0) and TCP_CLOSE";
    ACCEPT_EMFILE = "accept.emfile":
        "accept4() with no free fd failed with EMFILE and took nothing: a connection was waiting in the listener's accept queue at entry (sk_ack_backlog ≥ 1), and the fd table after the call is as it was";
    ACCEPT_NEW_SOCKET = "accept.new_socket":
        "accept4() installed a new fd whose struct socket and struct sock are not the listener's";
    ACCEPT_GRAFT = "accept.graft":
        "the new file's private_data is the new socket, socket->sk the child sock, and the child's sk_socket points back (sock_graft)";
    ACCEPT_LOCAL = "accept.local": "the child sock's local port (and address, if the listener's is not 0.0.0.0) are the listener's";
    ACCEPT_PEER_ADDR = "accept.peer_addr": "the address accept4() wrote back is the child sock's peer";
    ACCEPT_ENDS = "accept.ends":
        "the child sock and the client's sock are the two ends of one connection: each one's local address:port is the other's peer, and both reached TCP_ESTABLISHED (a client that finished before accept4() is already closing by then: that is ordinary TCP)";
    ACCEPT_LISTENER_LISTENS = "accept.listener_listens":
        "the listener is still TCP_LISTEN: no state change of it inside the call, and one connection fewer is waiting";
    ACCEPT_FD_FIRST = "accept.fd_before_alloc":
        "accept4() reserves the fd (get_unused_fd_flags) before it allocates the new socket (sock_alloc): the opposite order to socket()";
    ACCEPT_NOTHING_ALLOCATED = "accept.nothing_allocated":
        "the failed accept4() asked for an fd first and allocated nothing: get_unused_fd_flags returned the error accept4() returned, and sock_alloc never ran in the call";
    ACCEPT_KEPT_WAITING = "accept.kept_waiting":
        "the connection a failed accept4() left in the accept queue was still there at the listener's next accept4(), which took it: sk_ack_backlog at that call's entry was as the failed call found it, and the child sock it returned is the other end of the client's sock";
    READ_UNREAD = "read.took_unread":
        "read() (or recv, recvfrom, recvmsg, readv) took its bytes from those the sock held unread: rcv_nxt − copied_seq fell by exactly what it returned (one more when it also took the peer's FIN, which takes a sequence number and no byte)";
    READ_BYTES_MATCH = "rw.bytes_match":
        "the bytes read() (or a recv call) returned are the bytes the peer's write() (or a send call) sent: the writer's write_seq after its write is the reader's rcv_nxt, and both calls returned the same count";
    WRITE_SEQ = "write.seq":
        "write() (or send, sendto, sendmsg, writev, sendfile) advanced the sock's write_seq by exactly what it returned";
    CLOSE_FD_FREE = "close.fd_free": "after close() the fd slot is free in the fd table";
    BIND_CHAIN = "bind.chain":
        "bind() ran __sys_bind → inet_bind → (inet_bind_sk) → __inet_bind → inet_csk_get_port, in that order (those this kernel has as functions)";
    BIND_CHAIN_OBJECTS = "bind.chain_objects":
        "the chain acted on the fd's objects: inet_bind got its struct socket, __inet_bind and inet_csk_get_port its struct sock";
    LISTEN_CHAIN = "listen.chain":
        "listen() ran __sys_listen → inet_listen → (__inet_listen_sk) → inet_csk_listen_start, in that order (those this kernel has as functions)";
    LISTEN_CHAIN_OBJECTS = "listen.chain_objects":
        "inet_listen got the fd's struct socket and the backlog listen() was given; inet_csk_listen_start got its struct sock";
    CONNECT_CHAIN = "connect.chain":
        "connect() ran __sys_connect → inet_stream_connect → __inet_stream_connect → tcp_v4_connect, in that order (those this kernel has as functions)";
    CONNECT_CHAIN_OBJECTS = "connect.chain_objects":
        "inet_stream_connect and __inet_stream_connect got the fd's struct socket, tcp_v4_connect its struct sock";
    ACCEPT_CHAIN = "accept.chain":
        "accept4() ran __sys_accept4 → get_unused_fd_flags → (do_accept) → sock_alloc → sock_alloc_file → inet_accept → inet_csk_accept → fd_install, in that order (those this kernel has as functions)";
    ACCEPT_CHAIN_OBJECTS = "accept.chain_objects":
        "sock_alloc's return is the socket inet_accept filled and the new fd holds; inet_csk_accept returned its sock; sock_alloc_file's return is what fd_install installed; inet_accept and inet_csk_accept got the listener's socket and sock";
    WRITE_CHAIN = "write.chain":
        "write() (or send, sendto, sendmsg, writev) on the socket reached tcp_sendmsg with the fd's struct sock, and tcp_sendmsg returned what the call returned";
    READ_CHAIN = "read.chain":
        "read() (or recv, recvfrom, recvmsg, readv) on the socket reached tcp_recvmsg with the fd's struct sock, and tcp_recvmsg returned what the call returned";
    CLOSE_CHAIN = "close.chain":
        "the socket's file was released by sock_close → __sock_release → inet_release → tcp_close, in that order (after close() returned: the last fput is deferred to the return to user space)";
    CLOSE_CHAIN_OBJECTS = "close.chain_objects":
        "sock_close got the fd's struct file, __sock_release and inet_release its struct socket, tcp_close its struct sock";
    RELEASE_SAME_SOCKET = "release.same_socket":
        "every struct socket the failed call allocated (sock_alloc's return) was passed to sock_release in the same call: nothing was left allocated";
    RELEASE_SAME_SOCK = "release.same_sock":
        "every struct sock the failed call allocated (sk_alloc's return) was passed to its protocol's close (tcp_close) in the same call";
    CLOSE_FREED = "close.freed":
        "after close(), the kernel freed the closed struct socket (sock_free_inode) and its struct sock (__sk_destruct), each with the pointer the close chain was given, never before the close (an active closer's sock may first hand its connection to TIME_WAIT: tcp_time_wait)";
    RELEASE_FREED = "release.freed":
        "every struct socket and struct sock the failed call allocated went back to the kernel after the call released it: sock_free_inode got the socket's pointer, __sk_destruct the sock's (nothing leaked)";
    TCP_STATES = "tcp.states":
        "each traced TCP sock's state changes form one chain (each change starts where the last one ended) that ends in TCP_CLOSE";
    USER_RETURN_ADDRESS = "user.return_address":
        "the return address on the user stack at syscall entry points right after the call site in the binary";
    // The course site's questions and mistakes (`lesson::questions`): judged when the site is built, from a report
    // and the claims it holds. Each states what the kernel does; a mistake's is the claim that refutes the belief.
    KADDR_VIRTUAL = "kaddr.virtual":
        "every kernel pointer the walk of a socket() call read (its struct file, struct socket, struct sock and struct proto) is above 2^52 − 1, the largest physical address x86-64 can have: they are virtual addresses, not physical ones";
    CHAIN_SOCK_ALLOC_FIRST = "chain.sock_alloc_first":
        "socket() allocates the struct socket before the struct sock: sock_alloc entered before sk_alloc, in the same call";
    SOCK_NEW_TCP_CLOSED = "sock.new_tcp_closed":
        "the TCP sock socket() made is in TCP_CLOSE when the call returns: a new socket is neither TCP_LISTEN (listen() does that) nor TCP_ESTABLISHED (connect() or accept4() does that)";
    SOCK_PROTOCOL_ZERO_TCP = "sock.protocol_zero_tcp":
        "socket() of AF_INET or AF_INET6, SOCK_STREAM with protocol 0 made a sock whose sk_protocol is IPPROTO_TCP, not 0: the family's create replaced 0 by the protocol its switch (inetsw) holds for SOCK_STREAM";
    DISPATCH_ABSOLUTE = "dispatch.absolute":
        "every instruction of sock_register that addresses net_families does so with an absolute 32-bit displacement (sign-extended; patched by the KASLR relocation at boot), none RIP-relatively";
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_unique_and_every_statement_is_said_once() {
        let mut ids: Vec<&str> = super::ALL.iter().map(|c| c.id).collect();
        ids.sort();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n, "an id is defined twice");
        assert!(super::ALL.iter().all(|c| !c.statement.is_empty()));
    }

    #[test]
    fn every_claim_is_documented_in_the_json_schema() {
        let doc = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/json-schema.md");
        let doc = std::fs::read_to_string(&doc).unwrap_or_default();
        let missing: Vec<&str> =
            super::ALL.iter().map(|c| c.id).filter(|id| !doc.contains(&format!("`{id}`"))).collect();
        assert!(missing.is_empty(), "claims docs/json-schema.md does not name: {missing:?}");
    }

    #[test]
    fn no_claim_id_is_spelled_out_elsewhere_in_the_source() {
        // Claim ids appear as literals only in this file (tests may name them when they look a claim up).
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        fn walk(d: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
                if e.path().is_dir() {
                    walk(&e.path(), out)
                } else if e.path().extension().is_some_and(|x| x == "rs") {
                    out.push(e.path())
                }
            }
        }
        walk(&src, &mut files);
        for f in files.iter().filter(|f| !f.ends_with("claims/ids.rs")) {
            let text = std::fs::read_to_string(f).unwrap_or_default();
            let code = text.split("#[cfg(test)]").next().unwrap_or("");
            for c in super::ALL {
                let lit = format!("\"{}\"", c.id);
                assert!(!code.contains(&lit), "{} spells out {lit}: use claims::ids", f.display());
            }
        }
    }
}
