package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
)

// ErrNotRunning is returned when no agent listens on the socket (it does
// not exist, or it is stale).
var ErrNotRunning = errors.New("no agent listens there")

// dial connects to the socket at path; ctx bounds the connection.
// A missing or refused socket is ErrNotRunning.
func dial(ctx context.Context, path string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
			return nil, fmt.Errorf("%s: %w", path, ErrNotRunning)
		}
		return nil, err
	}
	return c, nil
}

// Call sends req to the agent at path and returns its reply. The reply's
// error is returned as a *ReplyError; ctx bounds the whole call.
func Call(ctx context.Context, path string, req Request) (string, error) {
	c, err := dial(ctx, path)
	if err != nil {
		return "", err
	}
	defer c.Close()
	defer context.AfterFunc(ctx, func() { c.Close() })()
	if err := writeFrame(c, req); err != nil {
		return "", ctxOr(ctx, err)
	}
	var r Reply
	if err := readFrame(c, &r); err != nil {
		if errors.Is(err, io.EOF) {
			err = errors.New("the agent closed the connection before it answered")
		}
		return "", ctxOr(ctx, err)
	}
	return r.Text, r.Err()
}

// Logs sends the log request req (Op is set to OpLogs) and passes the
// records to fn until the agent has sent them (nil, without Follow), ctx
// ends (nil), the agent goes away (io.EOF) or fn fails.
func Logs(ctx context.Context, path string, req Request, fn func(text string) error) error {
	req.Op = OpLogs
	c, err := dial(ctx, path)
	if err != nil {
		return err
	}
	defer c.Close()
	defer context.AfterFunc(ctx, func() { c.Close() })()
	if err := writeFrame(c, req); err != nil {
		return ctxOr(ctx, err)
	}
	for {
		var r Reply
		if err := readFrame(c, &r); err != nil {
			if ctx.Err() != nil || (!req.Follow && errors.Is(err, io.EOF)) {
				return nil
			}
			return err
		}
		if err := r.Err(); err != nil {
			return err
		}
		if err := fn(r.Text); err != nil {
			return err
		}
	}
}

// ctxOr returns ctx's error when it ended, else err.
func ctxOr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// GetInfo asks the agent at path to describe itself.
func GetInfo(ctx context.Context, path string) (Info, error) {
	var info Info
	text, err := Call(ctx, path, Request{Op: OpInfo})
	if err != nil {
		return info, err
	}
	if err := json.Unmarshal([]byte(text), &info); err != nil {
		return info, fmt.Errorf("the agent's info: %w", err)
	}
	return info, nil
}
