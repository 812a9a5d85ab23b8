# Sourced by the bench scripts that start servers on loopback: free ports,
# and stopping what they started.
# free_port: a port nobody listens on now (servers.py's free_port: below the
# kernel's ephemeral range, so the load tools' own outgoing connections
# cannot take it between the pick and the server's bind). wait_port PORT:
# until something listens there (at most 10 s); false when nothing did.
ports_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
free_port() { PYTHONPATH="$ports_lib" python3 -c 'from servers import free_port; print(free_port())'; }
# free_ports N: N different such ports, on one line.
free_ports() { PYTHONPATH="$ports_lib" python3 -c 'import sys; from servers import free_port
ports = set()
while len(ports) < int(sys.argv[1]):
    ports.add(free_port())
print(" ".join(map(str, ports)))' "$1"; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
# stop_pid PID: SIGINT, up to 5 s to exit, then SIGKILL; reaps it (a child
# of this shell). Nothing when PID is empty or gone.
stop_pid() {
	[ -n "$1" ] || return 0
	kill -INT "$1" 2>/dev/null || true
	for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.05; done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}
