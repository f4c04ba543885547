package control

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
)

// Files returns the descriptors of l an agent upgrading in place hands to
// its new program (see Adopt): the socket's and the lock's. l keeps them.
func (l *Listener) Files() (socket, lock *os.File, err error) {
	f, err := l.UnixListener.File() // a duplicate: the listener keeps its own
	if err != nil {
		return nil, nil, fmt.Errorf("control socket %s: %w", l.path, err)
	}
	return f, l.lock, nil
}

// Adopt makes the Listener of an agent that replaced its program in place
// (same pid) from the descriptors the old program's Listener.Files gave:
// the lock stays held, since the lock file's description is the same, and
// the socket goes on accepting where it was. socket is duplicated; lock
// now belongs to the Listener.
func Adopt(path string, socket, lock *os.File) (*Listener, error) {
	ln, err := net.FileListener(socket)
	if err != nil {
		return nil, fmt.Errorf("control socket %s: adopting it: %w", path, err)
	}
	ul, ok := ln.(*net.UnixListener)
	if !ok {
		ln.Close()
		return nil, fmt.Errorf("control socket %s: adopting it: not a unix socket", path)
	}
	ul.SetUnlinkOnClose(false)
	if err := writePID(lock); err != nil {
		ul.Close()
		return nil, fmt.Errorf("control lock: %w", err)
	}
	return &Listener{UnixListener: ul, path: path, lock: lock}, nil
}

// connKey is the context key of the client's connection of a command.
type connKey struct{}

// ClientConn returns the connection of the client whose command runs with
// ctx (Handler.Command), so that an agent replacing its own program can
// hand it to the new one, which answers with Answer.
func ClientConn(ctx context.Context) (*net.UnixConn, bool) {
	c, ok := ctx.Value(connKey{}).(*net.UnixConn)
	return c, ok
}

// Answer writes the reply to a command on a client's connection taken
// over with ClientConn: text, or err as an error reply.
func Answer(w io.Writer, text string, err error) error {
	if err != nil {
		return writeFrame(w, Reply{Error: err.Error()})
	}
	return writeFrame(w, Reply{OK: true, Text: text})
}
