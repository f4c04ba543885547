package benchkit

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ClkTck is USER_HZ, 100 on every Linux architecture Go supports.
const ClkTck = 100

// statFields returns the fields of /proc/PID/stat after the command name:
// f[0] is field 3 (state), f[1] the parent pid, f[11] utime, f[12] stime.
func statFields(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	s := string(b)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
}

// PPID returns the parent of pid, -1 if pid is gone.
func PPID(pid int) int {
	f := statFields(pid)
	if len(f) < 2 {
		return -1
	}
	p, _ := strconv.Atoi(f[1])
	return p
}

// Children lists the pids whose parent is pid.
func Children(pid int) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if p, err := strconv.Atoi(e.Name()); err == nil && PPID(p) == pid {
			out = append(out, p)
		}
	}
	return out
}

// Alive reports whether pid exists and is not a zombie.
func Alive(pid int) bool {
	f := statFields(pid)
	return len(f) > 0 && f[0] != "Z"
}

// KillLeftovers SIGKILLs whichever of pids (workers a run started) still
// runs after a short grace, saying so on stderr as prog.
func KillLeftovers(prog string, pids []int) {
	deadline := time.Now().Add(2 * time.Second)
	for _, p := range pids {
		for Alive(p) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if Alive(p) {
			fmt.Fprintf(os.Stderr, "%s: worker %d outlived its supervisor, killing it\n", prog, p)
			syscall.Kill(p, syscall.SIGKILL)
		}
	}
}

// CPUTicks returns utime+stime of the process (all its threads), in
// ClkTck ticks.
func CPUTicks(pid int) (int64, error) {
	f := statFields(pid)
	if len(f) < 13 {
		return 0, fmt.Errorf("no /proc/%d/stat", pid)
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return u + s, nil
}

// StatusKB returns a kB field of /proc/PID/status, such as "VmRSS" or
// "VmHWM" (peak RSS).
func StatusKB(pid int, field string) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}
