package benchkit

import (
	"syscall"
	"time"
)

// StopSupervisor stops a supervisor started in its own process group:
// SIGTERM, then, if exited is not closed within grace, SIGKILL of the
// whole group; last, KillLeftovers for the workers it had. prog names the
// caller in messages.
func StopSupervisor(prog string, pid int, exited <-chan struct{}, grace time.Duration) {
	kids := Children(pid)
	syscall.Kill(pid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(grace):
		syscall.Kill(-pid, syscall.SIGKILL)
		<-exited
	}
	KillLeftovers(prog, kids)
}
