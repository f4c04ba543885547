package agent

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/nodeagent/node-agent/internal/agent/config"
	"github.com/nodeagent/node-agent/internal/control"
	"github.com/nodeagent/node-agent/internal/monitor"
)

// handoverProtocol is the version of the hand-over document this program
// writes; it reads it and handoverOlder. The old program runs the new
// one's --handover-check first, which refuses another. It is a variable so
// that a test can build a binary of another version (-X).
//
// A field that a reader may ignore without harm is added within a
// version (encoding/json skips unknown fields): the workers' statistics
// (Monitor) would only start again. A field naming descriptors may not:
// a reader that ignored them would leave them open, inherited by every
// worker it starts, and their peers unanswered. Protocol 2 adds the
// AdminF connections (AdminConns), so it is a new version; a program of
// protocol 1 refuses it in its check (a clear refusal, the old program
// keeps running), and this one reads a protocol 1 document (it has
// neither field).
var handoverProtocol = "2"

// handoverOlder is the older protocol this program also reads.
const handoverOlder = "1"

// handoverEnv names the descriptor of the hand-over document in the
// environment of the new program.
const handoverEnv = "NODE_AGENT_HANDOVER_FD"

// handoverDoc is what the old program hands to the new one: every
// descriptor by its number (execve keeps them where they are) and the run
// loop's state. Fields are only added within one protocol version.
type handoverDoc struct {
	Protocol string    `json:"protocol"`
	From     string    `json:"from"`   // the old program's version
	Args     []string  `json:"args"`   // the agent's command line
	Frozen   time.Time `json:"frozen"` // when the old program began to freeze
	Asked    time.Time `json:"asked"`  // when the upgrade was asked for

	Began      time.Time    `json:"began"`
	Level      config.Level `json:"level"`
	Exceptions int          `json:"exceptions"`
	Window     windowState  `json:"window"`
	// Retired are the restarts of slots scaled away, by reason.
	Retired map[string]int `json:"retired"`
	// Reloads are the rolling reloads that ended, by outcome.
	Reloads   map[string]int `json:"reloads,omitempty"`
	NextCmdID uint64         `json:"next_cmd_id"`

	Slots   []slotState   `json:"slots"`
	Sockets socketsState  `json:"sockets"`
	Contain containState  `json:"contain"`
	Control *controlState `json:"control,omitempty"`
	// Admin and Metrics are the AdminF (--tars-local) and metrics
	// (--metrics-address) listeners, nil when not served.
	Admin   *int `json:"admin,omitempty"`
	Metrics *int `json:"metrics,omitempty"`
	// AdminConns are the AdminF connections, stopped between two
	// requests (protocol 2).
	AdminConns []adminConnState `json:"admin_conns,omitempty"`
	Client     int              `json:"client"` // the requesting control client's connection, -1: none

	// Monitor is the workers' statistics (protocol 2): the Prometheus
	// totals, the TARS report interval in progress, the Go runtime's
	// counters. Absent (protocol 1), they start again.
	Monitor *monitor.Carried `json:"monitor,omitempty"`
}

type windowState struct {
	Opened time.Time `json:"opened"`
	Count  int       `json:"count"`
}

type slotState struct {
	ID int `json:"id"`
	// Restarts counts the slot's restarts by reason (monitor.Reason*).
	Restarts  map[string]int `json:"restarts,omitempty"`
	LastStart time.Time      `json:"last_start"`
	Worker    workerState    `json:"worker"`
}

type workerState struct {
	PID      int       `json:"pid"`
	Linked   bool      `json:"linked"`
	Started  time.Time `json:"started"`
	LastBeat time.Time `json:"last_beat"`
	// Channel is the agent's end of the worker's channel; Buffered and
	// FDs are what the old program received past the last whole frame.
	Channel  int    `json:"channel"`
	Buffered []byte `json:"buffered,omitempty"`
	FDs      []int  `json:"fds,omitempty"`
	// Stdout and Stderr are the read ends of its output pipes, -1 once
	// read to their end.
	Stdout int    `json:"stdout"`
	Stderr int    `json:"stderr"`
	Tag    string `json:"tag,omitempty"`
	Cgroup string `json:"cgroup,omitempty"`
}

type socketsState struct {
	SharedWhy string       `json:"shared_why,omitempty"`
	LoggedWhy bool         `json:"logged_why,omitempty"`
	Groups    []groupState `json:"groups"`
}

type groupState struct {
	Key     string      `json:"key"`
	Network string      `json:"network"`
	Address string      `json:"address"`
	Shared  int         `json:"shared"` // -1 for a per-slot group
	PerSlot map[int]int `json:"per_slot,omitempty"`
	// The steerer: its program and maps, and the slots it steers to.
	Prog    int   `json:"prog"`
	Sockets int   `json:"sockets_map"`
	Serving int   `json:"serving_map"`
	Current []int `json:"current"`
}

type containState struct {
	Token         string `json:"token"`
	Seq           uint64 `json:"seq"`
	Tree          string `json:"tree,omitempty"`
	TreeSeq       uint64 `json:"tree_seq"`
	GuardianPID   int    `json:"guardian_pid"`
	GuardianWrite int    `json:"guardian_write"`
}

type controlState struct {
	Path   string `json:"path"`
	Socket int    `json:"socket"`
	Lock   int    `json:"lock"`
}

func (d *handoverDoc) encode() ([]byte, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("hand-over document: %w", err)
	}
	return b, nil
}

// decodeHandover reads a hand-over document of this program's protocol.
func decodeHandover(r io.Reader) (*handoverDoc, error) {
	var d handoverDoc
	if err := json.NewDecoder(r).Decode(&d); err != nil {
		return nil, fmt.Errorf("hand-over document: %w", err)
	}
	if d.Protocol != handoverProtocol && d.Protocol != handoverOlder {
		return nil, fmt.Errorf("hand-over protocol %q, this program reads protocols %q and %q only", d.Protocol, handoverProtocol, handoverOlder)
	}
	if len(d.Args) == 0 {
		return nil, fmt.Errorf("hand-over document without the agent's command line")
	}
	return &d, nil
}

// Handover is the state an agent's previous program handed to this one
// when it upgraded in place (TakeHandover): give it to Adopt.
type Handover struct {
	doc *handoverDoc
}

// TakeHandover returns the hand-over this program was started with by an
// agent upgrading in place, or nil when it was started afresh. An error
// comes after the commit point: the old program is gone (see the package
// doc); the caller exits and the guardian stops the workers.
func TakeHandover() (*Handover, error) {
	v := os.Getenv(handoverEnv)
	if v == "" {
		return nil, nil
	}
	os.Unsetenv(handoverEnv)
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 0 {
		return nil, fmt.Errorf("%s=%q is not a descriptor", handoverEnv, v)
	}
	f := os.NewFile(uintptr(fd), "handover")
	defer f.Close()
	d, err := decodeHandover(f)
	if err != nil {
		return nil, err
	}
	return &Handover{doc: d}, nil
}

// Args is the command line of the agent that handed over: the new program
// runs with the same options.
func (h *Handover) Args() []string { return h.doc.Args }

// ControlListener adopts the control socket of the old program, with its
// lock.
func (h *Handover) ControlListener() (*control.Listener, error) {
	c := h.doc.Control
	if c == nil {
		return nil, fmt.Errorf("the hand-over has no control socket")
	}
	socket := os.NewFile(uintptr(c.Socket), "control-socket")
	defer socket.Close()
	return control.Adopt(c.Path, socket, os.NewFile(uintptr(c.Lock), "control-lock"))
}

// heldPIDs are the children the old program started: the workers and the
// guardian.
func (h *Handover) heldPIDs() []int {
	var pids []int
	for _, sl := range h.doc.Slots {
		pids = append(pids, sl.Worker.PID)
	}
	if h.doc.Contain.GuardianPID > 0 {
		pids = append(pids, h.doc.Contain.GuardianPID)
	}
	return pids
}

// CheckHandover reads a hand-over document from r, as the new program
// will after the exec, and checks its command line (argv, with argv[0])
// with load. It answers
// "ok" (and this program's version) on w, or returns why it cannot adopt
// it. It is the new binary's side of the check before the exec
// (HandoverCheckFlag).
func CheckHandover(r io.Reader, w io.Writer, version string, load func(args []string) error) error {
	d, err := decodeHandover(r)
	if err != nil {
		return err
	}
	if err := load(d.Args); err != nil {
		return fmt.Errorf("the agent's options: %w", err)
	}
	_, err = fmt.Fprintf(w, "ok %s protocol %s\n", version, handoverProtocol)
	return err
}

// rawFD returns the descriptor of c without changing its mode (unlike
// (*os.File).Fd, which makes it blocking), or -1.
func rawFD(c syscall.Conn) int {
	rc, err := c.SyscallConn()
	if err != nil {
		return -1
	}
	fd := -1
	rc.Control(func(u uintptr) { fd = int(u) })
	return fd
}

// addrString renders a listen group's address for its network.
func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}
