package agent

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// closeCore runs tars.closecore yes|no as TarsCpp does (RLIMIT_CORE's soft
// limit to 0, or up to the hard limit) for the agent — workers started
// from now on inherit it — and, with prlimit, for every running worker.
// The reply follows TarsCpp's: "NAME|before set:cur:C;max:M|after set
// cur:C;max:M", then a line per worker; a worker whose limit could not be
// set makes it an ErrWorkers error.
func (s *Supervisor) closeCore(data string) (string, error) {
	var closeIt bool
	switch strings.ToLower(strings.TrimSpace(data)) {
	case "yes":
		closeIt = true
	case "no":
	default:
		return "", errorf(ErrBadArgument, "%s wants yes or no, got %q", CmdCloseCore, data)
	}
	before, after, err := setCoreLimit(0, closeIt)
	if err != nil {
		return "", fmt.Errorf("%s: the agent's RLIMIT_CORE: %w", CmdCloseCore, err)
	}
	lines := []string{fmt.Sprintf("%s|before set:cur:%s;max:%s|after set cur:%s;max:%s",
		s.cfg.Name, rlim(before.Cur), rlim(before.Max), rlim(after.Cur), rlim(after.Max))}
	failed := false
	s.table.each(func(w *worker) {
		pid := w.p.PID()
		_, after, err := setCoreLimit(pid, closeIt)
		if err != nil {
			failed = true
			lines = append(lines, fmt.Sprintf("%d(%d): %v", w.slot, pid, err))
			return
		}
		lines = append(lines, fmt.Sprintf("%d(%d): cur:%s;max:%s", w.slot, pid, rlim(after.Cur), rlim(after.Max)))
	})
	s.log.info("%s %s: %s", CmdCloseCore, data, strings.Join(lines, "; "))
	if failed {
		return "", errorf(ErrWorkers, "%s", strings.Join(lines, "\n"))
	}
	return strings.Join(lines, "\n"), nil
}

// setCoreLimit sets pid's RLIMIT_CORE soft limit (0: this process) to 0
// or to its hard limit, and returns the limits before and after.
func setCoreLimit(pid int, closeIt bool) (before, after unix.Rlimit, err error) {
	if err := unix.Prlimit(pid, unix.RLIMIT_CORE, nil, &before); err != nil {
		return before, after, os.NewSyscallError("prlimit", err)
	}
	after = before
	after.Cur = after.Max
	if closeIt {
		after.Cur = 0
	}
	if err := unix.Prlimit(pid, unix.RLIMIT_CORE, &after, nil); err != nil {
		return before, before, os.NewSyscallError("prlimit", err)
	}
	return before, after, nil
}

// rlim formats a limit as TarsCpp prints it (RLIM_INFINITY as -1).
func rlim(v uint64) string {
	if v == unix.RLIM_INFINITY {
		return "-1"
	}
	return fmt.Sprint(v)
}
