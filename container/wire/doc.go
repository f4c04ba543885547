// Package wire is the agent↔worker protocol shared by both ends: the agent
// (package agent) and the worker library (package container). Users of
// node-agent never import it; the protocol itself is described for people in
// the documentation of package container.
//
// A channel is one end of a Unix stream socket pair. The agent keeps one end
// and passes the other to the worker as an inherited file descriptor, named by
// the environment variable EnvChannelFD. Both ends exchange frames:
//
//	+----------------+--------+--------+--------------------+
//	| length uint32  | kind   | nfds   | body (length-2 B)  |
//	| big endian     | uint8  | uint8  | JSON object        |
//	+----------------+--------+--------+--------------------+
//
// length counts the kind and nfds bytes and the body, never more than
// MaxFrameSize. nfds is the number of file descriptors (SCM_RIGHTS) sent with
// the frame: at most MaxFrameFDs; the receiver takes them from the ancillary
// data that arrived with or before the frame's first byte. Unknown kinds are
// ignored by both ends, so new messages can be added without breaking older
// peers; incompatible changes bump Version.
package wire
