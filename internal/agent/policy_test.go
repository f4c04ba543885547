package agent

import (
	"syscall"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/internal/monitor"
)

// TestDecideExit: the restart policy, cause by cause, on the fake clock's
// time: which ends are exceptions, which restart and after what delay,
// which alarm, and the limit.
func TestDecideExit(t *testing.T) {
	t0 := time.Unix(1e9, 0)
	fresh := exceptionWindow{max: 3, span: 10 * time.Second}
	full := exceptionWindow{max: 3, span: 10 * time.Second, opened: t0, count: 2}
	crashed := exitStatus{Code: 3}
	killed := exitStatus{Code: -1, Signal: syscall.SIGKILL}
	cases := []struct {
		name   string
		end    workerEnd
		window exceptionWindow
		at     time.Duration
		want   exitDecision // window aside
	}{
		{"crash restarts at once", workerEnd{cause: causeNone, status: crashed, lastStart: t0},
			fresh, 0, exitDecision{exception: true, count: 1, restart: monitor.ReasonCrash, alarm: alarmUnexpectedExit}},
		{"second crash is paced", workerEnd{cause: causeNone, status: crashed, lastStart: t0, restarted: true},
			fresh, 30 * time.Millisecond, exitDecision{exception: true, count: 1, restart: monitor.ReasonCrash, delay: 70 * time.Millisecond, alarm: alarmUnexpectedExit}},
		{"pacing over", workerEnd{cause: causeNone, status: crashed, lastStart: t0, restarted: true},
			fresh, time.Second, exitDecision{exception: true, count: 1, restart: monitor.ReasonCrash, alarm: alarmUnexpectedExit}},
		{"crash at the limit stops", workerEnd{cause: causeNone, status: crashed},
			full, time.Second, exitDecision{exception: true, count: 3, limit: true, alarm: "[alarm] exiting,exception occurred more than 2 times within 10 seconds"}},
		{"limit window closed", workerEnd{cause: causeNone, status: crashed},
			full, 10 * time.Second, exitDecision{exception: true, count: 1, restart: monitor.ReasonCrash, alarm: alarmUnexpectedExit}},
		{"crash while stopping", workerEnd{cause: causeNone, status: crashed, stopping: true},
			full, 0, exitDecision{alarm: alarmUnexpectedExit}},
		{"start failed", workerEnd{cause: causeStartFailed},
			fresh, 0, exitDecision{exception: true, count: 1, restart: monitor.ReasonCrash}},
		{"not ready in time", workerEnd{cause: causeNotReady, status: killed},
			fresh, 0, exitDecision{exception: true, count: 1, restart: monitor.ReasonCrash}},
		{"zombie", workerEnd{cause: causeKeepalive, status: killed},
			fresh, 0, exitDecision{exception: true, count: 1, restart: monitor.ReasonKeepalive}},
		{"memory", workerEnd{cause: causeMemory, status: exitStatus{}},
			fresh, 0, exitDecision{exception: true, count: 1, restart: monitor.ReasonMemory}},
		{"zombie while stopping", workerEnd{cause: causeKeepalive, status: killed, stopping: true},
			fresh, 0, exitDecision{}},
		{"shutdown", workerEnd{cause: causeShutdown, status: crashed}, full, 0, exitDecision{}},
		{"replaced", workerEnd{cause: causeReplaced}, full, 0, exitDecision{}},
		{"scaled down", workerEnd{cause: causeScaleDown}, full, 0, exitDecision{}},
		{"replacement given up", workerEnd{cause: causeCancelled, status: killed}, full, 0, exitDecision{}},
		{"protocol mismatch", workerEnd{cause: causeProtocol}, full, 0, exitDecision{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clock := &fakeClock{now: t0}
			clock.Advance(c.at)
			got := decideExit(c.end, c.window, clock.Now())
			got.window = exceptionWindow{}
			if got != c.want {
				t.Fatalf("decideExit = %+v, want %+v", got, c.want)
			}
		})
	}
}

// TestDecideExitWindow: the decision carries the window forward; the
// input is left as it was.
func TestDecideExitWindow(t *testing.T) {
	t0 := time.Unix(1e9, 0)
	w := exceptionWindow{max: 2, span: time.Minute}
	d := decideExit(workerEnd{cause: causeNone}, w, t0)
	if w.count != 0 || d.window.count != 1 || !d.window.opened.Equal(t0) {
		t.Fatalf("window %+v → %+v", w, d.window)
	}
	d = decideExit(workerEnd{cause: causeKeepalive}, d.window, t0.Add(time.Second))
	if !d.limit || d.count != 2 {
		t.Fatalf("second exception within the window: %+v", d)
	}
}
