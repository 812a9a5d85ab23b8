# Sourced by the bench scripts that start servers on loopback.
# free_port: a port nobody listens on now. wait_port PORT: until something
# listens there (at most 10 s); false when nothing did.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
