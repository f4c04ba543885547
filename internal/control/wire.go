package control

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
)

// MaxFrame bounds one frame's JSON body (a status of 1024 workers fits).
const MaxFrame = 4 << 20

// Operations of a Request.
const (
	// OpCommand runs Command as an admin command (SPEC §10) and replies
	// with its answer.
	OpCommand = "command"
	// OpShutdown starts the agent's graceful shutdown (AdminF.shutdown).
	OpShutdown = "shutdown"
	// OpLogs sends the agent's last Lines log records of Source, then,
	// with Follow, the records as they are written, one Reply frame per
	// batch of formatted records, until the client closes.
	OpLogs = "logs"
	// OpInfo answers an Info as JSON.
	OpInfo = "info"
	// OpStatus answers the agent's status as JSON (agent.status), without
	// the admin command's log line: for ls, status and monit's refresh.
	OpStatus = "status"
)

// Log sources of an OpLogs request.
const (
	SourceApp   = "app"   // the service log: what the workers write
	SourceAgent = "agent" // the agent log: its own events
	SourceAll   = "all"
)

// Request is what a client asks.
type Request struct {
	Op      string `json:"op"`
	Command string `json:"command,omitempty"`
	// OpLogs: the log (Source*, default SourceApp), how many past lines,
	// and whether to follow.
	Source string `json:"source,omitempty"`
	Lines  int    `json:"lines,omitempty"`
	Follow bool   `json:"follow,omitempty"`
}

// Info describes an agent: what `ls` and `logs` need before anything else.
type Info struct {
	Name string `json:"name"`
	PID  int    `json:"pid"`
	// AppLog and AgentLog are the log files, empty when the agent logs
	// to its stdout.
	AppLog   string `json:"app_log,omitempty"`
	AgentLog string `json:"agent_log,omitempty"`
}

// Reply is the server's answer: OK with Text, or Error.
type Reply struct {
	OK    bool   `json:"ok"`
	Text  string `json:"text,omitempty"`
	Error string `json:"error,omitempty"`
}

// Err returns the reply's error as an error (nil when OK).
func (r Reply) Err() error {
	if r.OK {
		return nil
	}
	return &ReplyError{Msg: r.Error}
}

// ReplyError is an error answered by the agent.
type ReplyError struct{ Msg string }

func (e *ReplyError) Error() string { return e.Msg }

// writeFrame writes v as one frame.
func writeFrame(w io.Writer, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if len(body) > MaxFrame {
		return fmt.Errorf("control: frame of %d bytes exceeds %d", len(body), MaxFrame)
	}
	buf := make([]byte, 4+len(body))
	binary.BigEndian.PutUint32(buf, uint32(len(body)))
	copy(buf[4:], body)
	_, err = w.Write(buf)
	return err
}

// readFrame reads one frame into v. io.EOF means the peer closed cleanly
// between frames.
func readFrame(r io.Reader, v any) error {
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(head[:])
	if n > MaxFrame {
		return fmt.Errorf("control: frame of %d bytes exceeds %d", n, MaxFrame)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return fmt.Errorf("control: truncated frame: %w", err)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("control: bad frame: %w", err)
	}
	return nil
}
