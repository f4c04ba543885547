package agent

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/internal/monitor"
)

// sampleHandover is a hand-over document as an agent with one per-slot
// TCP address and two workers writes it.
func sampleHandover() *handoverDoc {
	return &handoverDoc{
		Protocol: handoverProtocol, From: "1.0.0", Args: []string{"node-agent", "./svc", "-i", "2"},
		Frozen: time.Unix(1700000000, 0), Began: time.Unix(1690000000, 0), Level: "INFO",
		Exceptions: 3, Window: windowState{Opened: time.Unix(1699999990, 0), Count: 1},
		Retired: map[string]int{"crash": 1}, Reloads: map[string]int{"ok": 2, "failed": 1}, NextCmdID: 9, Client: 40,
		Slots: []slotState{
			{ID: 0, Restarts: map[string]int{"crash": 2}, Worker: workerState{PID: 100, Linked: true, Channel: 11, Buffered: []byte{0, 0, 0, 9, 5}, FDs: []int{30}, Stdout: 12, Stderr: 13, Tag: "tok.1", Cgroup: "/sys/fs/cgroup/x/w1"}},
			{ID: 1, Worker: workerState{PID: 101, Channel: 14, Stdout: -1, Stderr: 15, Tag: "tok.2"}},
		},
		Sockets: socketsState{Groups: []groupState{{Key: "tcp :8080", Network: "tcp", Address: ":8080", Shared: -1,
			PerSlot: map[int]int{0: 20, 1: 21}, Prog: 22, Sockets: 23, Serving: 24, Current: []int{0, 1}}}},
		Contain:    containState{Token: "tok", Seq: 2, GuardianPID: 99, GuardianWrite: 25},
		Control:    &controlState{Path: "/run/node-agent/svc.sock", Socket: 26, Lock: 27},
		AdminConns: []adminConnState{{FD: 28, Buffered: []byte{0, 0, 0, 40, 1}}, {FD: 29}},
		Monitor:    &monitor.Carried{Rejected: 2, Calls: nil},
	}
}

func TestHandoverDocumentRoundTrip(t *testing.T) {
	want := sampleHandover()
	b, err := want.encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeHandover(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	again, _ := got.encode()
	if !bytes.Equal(again, b) {
		t.Fatalf("round trip changed the document:\n%s\n%s", b, again)
	}
	h := &Handover{doc: got}
	if pids := h.held(); len(pids) != 3 || pids[0] != 100 || pids[1] != 101 || pids[2] != 99 {
		t.Fatalf("held pids %v, want the workers' and the guardian's", pids)
	}
	if (*Handover)(nil).held() != nil {
		t.Fatal("no hand-over holds a child")
	}
}

// TestCheckHandoverRefusesWhatItCannotAdopt: the new binary's check
// answers ok for its own protocol and options it accepts, and says why
// otherwise.
func TestCheckHandoverRefusesWhatItCannotAdopt(t *testing.T) {
	doc := sampleHandover()
	b, _ := doc.encode()
	var out bytes.Buffer
	var argv []string
	if err := CheckHandover(bytes.NewReader(b), &out, "2.0.0", func(a []string) error { argv = a; return nil }); err != nil {
		t.Fatal(err)
	}
	if out.String() != "ok 2.0.0 protocol "+handoverProtocol+"\n" || strings.Join(argv, " ") != "node-agent ./svc -i 2" {
		t.Fatalf("answer %q, options checked %q", out.String(), argv)
	}
	badOptions := errors.New("unknown option -i")
	if err := CheckHandover(bytes.NewReader(b), &out, "2.0.0", func([]string) error { return badOptions }); !errors.Is(err, badOptions) {
		t.Fatalf("options the new version refuses: %v", err)
	}
	// Protocol 1 documents (without the statistics and AdminF
	// connections) are read too.
	doc.Protocol, doc.Monitor, doc.AdminConns = handoverOlder, nil, nil
	b, _ = doc.encode()
	if err := CheckHandover(bytes.NewReader(b), &out, "2.0.0", func([]string) error { return nil }); err != nil {
		t.Fatalf("a protocol %s document: %v", handoverOlder, err)
	}
	doc.Protocol = "0"
	b, _ = doc.encode()
	err := CheckHandover(bytes.NewReader(b), &out, "2.0.0", func([]string) error { return nil })
	if err == nil || !strings.Contains(err.Error(), `hand-over protocol "0"`) {
		t.Fatalf("another protocol: %v", err)
	}
	for _, bad := range []string{"", "{", `{"protocol":"` + handoverProtocol + `"}`, "[]"} {
		if err := CheckHandover(strings.NewReader(bad), &out, "2.0.0", func([]string) error { return nil }); err == nil {
			t.Fatalf("document %q accepted", bad)
		}
	}
}

// FuzzDecodeHandover: any input is a document or an error, never a panic;
// a document decoded re-encodes and decodes to the same.
func FuzzDecodeHandover(f *testing.F) {
	b, _ := sampleHandover().encode()
	f.Add(b)
	f.Add([]byte(`{"protocol":"1","args":["x"]}`))
	f.Add([]byte(`{"protocol":"1","args":["x"],"slots":[{"worker":{"fds":[-1,99999999999]}}]}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		d, err := decodeHandover(bytes.NewReader(in))
		if err != nil {
			return
		}
		b, err := d.encode()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := decodeHandover(bytes.NewReader(b)); err != nil {
			t.Fatalf("re-encoded document refused: %v", err)
		}
	})
}

// TestReaperKeepsExitsOfHeldChildren: a child the previous program
// started that exits before the new reaper adopts it is not lost as an
// orphan's exit: adopt hands its status over at once; one that exits later
// is reaped as usual.
func TestReaperKeepsExitsOfHeldChildren(t *testing.T) {
	early, late := exec.Command("sh", "-c", "exit 7"), exec.Command("sleep", "30")
	for _, c := range []*exec.Cmd{early, late} {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	defer late.Process.Kill()
	// Like the new program, the reaper waits for any pid here.
	r := newReaper(false, newAgentLog(newLineSink().sink), early.Process.Pid, late.Process.Pid)
	r.mu.Lock()
	r.any = true
	r.mu.Unlock()
	defer r.close()
	// The early child's exit is reaped (and kept) before adopt.
	if !poll(10*time.Second, func() bool {
		syscall.Kill(syscall.Getpid(), syscall.SIGCHLD)
		r.mu.RLock()
		defer r.mu.RUnlock()
		_, ok := r.early[early.Process.Pid]
		return ok
	}) {
		t.Fatal("the early child's exit was not kept")
	}
	got := make(chan exitStatus, 2)
	r.adopt(early.Process.Pid, func(ws syscall.WaitStatus) { got <- statusOf(ws) })
	r.adopt(late.Process.Pid, func(ws syscall.WaitStatus) { got <- statusOf(ws) })
	if st := <-got; st.Code != 7 {
		t.Fatalf("early child: %v, want code 7", st)
	}
	late.Process.Signal(syscall.SIGKILL)
	select {
	case st := <-got:
		if st.Signal != syscall.SIGKILL {
			t.Fatalf("late child: %v, want SIGKILL", st)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the late child's exit was never reported")
	}
}
