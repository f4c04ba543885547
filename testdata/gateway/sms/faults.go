package sms

import (
	"net/http"
	"strconv"
)

// Exit code of /debug/fault/crash.
const CrashExitCode = 3

// FaultReply is the body of a /debug/fault/* reply.
type FaultReply struct {
	Fault   string `json:"fault"`
	PID     int    `json:"pid"`
	GrownMB int    `json:"grown_mb,omitempty"` // grow: total held so far
}

// handleFault serves POST /debug/fault/{name}, routed only when Config.Faults
// is set. Every fault replies first (Content-Length set, flushed), then acts:
//
//	crash            Hooks.Exit(CrashExitCode)
//	hang             Hooks.Stop(): the process stops (SIGSTOP); nothing runs, heartbeats stop
//	grow?mb=N        allocate and touch N MiB (1..DefaultMaxGrowMB) and keep it
//	ignore-shutdown  from now on a closed done is ignored and Hooks.IgnoreSignals() runs
func (g *Gateway) handleFault(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var act func()
	reply := FaultReply{Fault: name, PID: g.pid}
	switch name {
	case "crash":
		act = bindHook(g.hooks.Exit, CrashExitCode)
	case "hang":
		act = g.hooks.Stop
	case "ignore-shutdown":
		if g.hooks.IgnoreSignals == nil {
			break
		}
		g.ignoreShutdown.Store(true)
		g.hooks.IgnoreSignals()
		act = func() {}
	case "grow":
		mb, err := strconv.Atoi(r.URL.Query().Get("mb"))
		if err != nil || mb < 1 || mb > DefaultMaxGrowMB {
			writeJSON(w, http.StatusBadRequest, ErrorBody{Error: "want mb between 1 and " + strconv.Itoa(DefaultMaxGrowMB), Field: "mb"})
			return
		}
		reply.GrownMB = g.grow(mb)
		act = func() {}
	default:
		writeJSON(w, http.StatusNotFound, ErrorBody{Error: "unknown fault " + strconv.Quote(name) + "; known: crash, hang, grow, ignore-shutdown"})
		return
	}
	if act == nil {
		writeJSON(w, http.StatusNotImplemented, ErrorBody{Error: "fault " + name + " has no process hook in this build"})
		return
	}
	g.log.Warn("fault injected", "fault", name)
	w.Header().Set("Connection", "close")
	writeJSON(w, http.StatusOK, reply)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	act()
}

func bindHook(fn func(int), arg int) func() {
	if fn == nil {
		return nil
	}
	return func() { fn(arg) }
}

// grow allocates mb MiB, writes one byte per page so the memory is resident,
// keeps it, and returns the total held.
func (g *Gateway) grow(mb int) int {
	const page = 4096
	b := make([]byte, mb<<20)
	for i := 0; i < len(b); i += page {
		b[i] = 1
	}
	g.ballastMu.Lock()
	defer g.ballastMu.Unlock()
	g.ballast = append(g.ballast, b)
	total := 0
	for _, x := range g.ballast {
		total += len(x) >> 20
	}
	return total
}
