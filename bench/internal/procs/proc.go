package procs

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Children lists the live (not zombie) processes whose parent is pid.
func Children(pid int) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f := statFields(p); len(f) > 1 && f[0] != "Z" && f[1] == strconv.Itoa(pid) {
			out = append(out, p)
		}
	}
	return out
}

// PPID returns the parent of pid, or -1 when pid does not exist.
func PPID(pid int) int {
	f := statFields(pid)
	if len(f) < 2 {
		return -1
	}
	p, err := strconv.Atoi(f[1])
	if err != nil {
		return -1
	}
	return p
}

// Alive reports whether pid exists and is not a zombie.
func Alive(pid int) bool {
	f := statFields(pid)
	return len(f) > 0 && f[0] != "Z"
}

// statFields returns the fields of /proc/PID/stat after the command name:
// state, ppid, ...; nil when pid does not exist.
func statFields(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(s[i+1:])
}

// KillLeftovers gives pids (workers of a supervisor that was just stopped)
// two seconds to go, then SIGKILLs those still running, saying so on
// stderr prefixed by who.
func KillLeftovers(who string, pids []int) {
	deadline := time.Now().Add(2 * time.Second)
	for _, p := range pids {
		for Alive(p) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if Alive(p) {
			fmt.Fprintf(os.Stderr, "%s: worker %d outlived its supervisor, killing it\n", who, p)
			syscall.Kill(p, syscall.SIGKILL)
		}
	}
}

// StopSupervisor stops a supervisor started in its own process group:
// SIGTERM, then, if exited is not closed within grace, SIGKILL of the
// whole group; last, KillLeftovers for the workers it had.
func StopSupervisor(who string, pid int, exited <-chan struct{}, grace time.Duration) {
	kids := Children(pid)
	syscall.Kill(pid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(grace):
		syscall.Kill(-pid, syscall.SIGKILL)
		<-exited
	}
	KillLeftovers(who, kids)
}
