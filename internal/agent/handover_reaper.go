package agent

import "syscall"

// hold registers pids, children a previous program of this process
// started, before the reaper's loop runs: an exit of one before adopt is
// kept instead of being reaped as an orphan's.
func (r *reaper) hold(pids []int) {
	if len(pids) == 0 {
		return
	}
	r.early = map[int]syscall.WaitStatus{}
	for _, pid := range pids {
		r.waiting[pid] = func(ws syscall.WaitStatus) { r.early[pid] = ws } // under r.mu
	}
}

// adopt registers exited for pid, a child held by newReaper; if it exited
// already, exited runs now. Like start's callbacks, exited must not block.
func (r *reaper) adopt(pid int, exited func(syscall.WaitStatus)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ws, ok := r.early[pid]; ok {
		delete(r.early, pid)
		exited(ws)
		return
	}
	r.waiting[pid] = exited
}
