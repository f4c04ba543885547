// Package control is the local control socket of node-agent (SPEC §15):
// every agent serves its admin commands on a unix socket whose path is
// derived from the service name, and the operator commands (ls, status,
// reload, scale, stop, logs, monit) talk to it with no configuration.
//
// # Where
//
// Dir is $XDG_RUNTIME_DIR/node-agent, or /run/node-agent as root, or
// $TMPDIR/node-agent-UID when neither applies. The directory is created
// with mode 0700 and must belong to the current user. In it, agent NAME
// owns NAME.sock (mode 0600) and NAME.lock.
//
// # One agent per name
//
// Listen takes an exclusive flock(2) on NAME.lock before it touches
// NAME.sock, and holds it for the life of the agent: the kernel drops it
// when the agent exits, even by SIGKILL. A second agent with the same name
// gets an *InUseError naming the first one's pid (written in the lock
// file). A socket left behind by a killed agent is stale by definition
// once the lock is held, and is replaced. This lock is also what keeps the
// service's log files single-writer. Close removes the socket and the lock
// file; an agent that took the lock checks that the file it locked is
// still the one at the path, so the removal never lets two agents in.
//
// # Protocol
//
// One request per connection. Every message is a frame: a 4-byte
// big-endian length, then that many bytes of JSON (at most MaxFrame).
// The client sends a Request; the server answers with one Reply, or, for
// OpLogs, a stream of Reply frames (Text holds formatted log records)
// until either side closes. A Reply is typed: OK with Text, or not OK with
// Error (one line). The server accepts connections from its own user (and
// root) only, checked with SO_PEERCRED on top of the socket's mode.
//
//	ln, err := control.Listen(control.Dir(), "A.S")
//	var inUse *control.InUseError
//	if errors.As(err, &inUse) { ... inUse.PID ... }
//	go control.Serve(ln, handler)
//	defer ln.Close()
//
//	reply, err := control.Call(ctx, control.Path(control.Dir(), "A.S"), control.Request{Op: control.OpCommand, Command: "agent.status"})
package control
