package agent

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// heartbeatInterval is how often a linked worker sends heartbeats:
// keepalive/5 (SPEC §7), none when keepalive is off.
func heartbeatInterval(keepalive time.Duration) time.Duration {
	if keepalive <= 0 {
		return 0
	}
	return max(keepalive/5, 10*time.Millisecond)
}

// silentFor reports how long a worker has been silent when keepalive
// applies to it: a ready worker linking the library. Starting and stopping
// workers and plain binaries are never zombies.
func silentFor(w *worker, now time.Time) (time.Duration, bool) {
	if !w.linked || w.state != Ready {
		return 0, false
	}
	return now.Sub(w.lastBeat), true
}

// memoryReader tells the host's available memory and the kernel's free
// memory floor, in bytes.
type memoryReader func() (available, minFree uint64, err error)

// memoryLow reports whether keepalive kills must be skipped: available
// memory below twice vm.min_free_kbytes, when a swap storm can make
// healthy workers look hung (SPEC §7). An unreadable source is not low.
func memoryLow(read memoryReader) (bool, string) {
	if read == nil {
		return false, ""
	}
	avail, minFree, err := read()
	if err != nil || minFree == 0 {
		return false, ""
	}
	return avail < 2*minFree, fmt.Sprintf("available memory %d MiB is below 2 × vm.min_free_kbytes (%d MiB)", avail>>20, minFree>>20)
}

// procMemory reads /proc/meminfo and /proc/sys/vm/min_free_kbytes under root.
func procMemory(root string) memoryReader {
	return func() (uint64, uint64, error) {
		info, err := os.ReadFile(root + "/proc/meminfo")
		if err != nil {
			return 0, 0, err
		}
		avail, err := meminfoField(info, "MemAvailable")
		if err != nil {
			return 0, 0, err
		}
		b, err := os.ReadFile(root + "/proc/sys/vm/min_free_kbytes")
		if err != nil {
			return 0, 0, err
		}
		kb, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("min_free_kbytes: %w", err)
		}
		return avail, kb << 10, nil
	}
}

// meminfoField returns a "Name: N kB" field of /proc/meminfo in bytes.
func meminfoField(info []byte, name string) (uint64, error) {
	sc := bufio.NewScanner(bytes.NewReader(info))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != name {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			break
		}
		n, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("meminfo %s: %w", name, err)
		}
		return n << 10, nil
	}
	return 0, fmt.Errorf("meminfo has no %s", name)
}

// armKeepalive schedules the next keepalive check: one timer for all
// workers, every heartbeat interval, so detection takes at most
// keepalive + keepalive/5 and nothing is left behind by restarts.
func (s *Supervisor) armKeepalive() {
	if iv := heartbeatInterval(s.cfg.KeepaliveTime); iv > 0 && !s.stopping {
		s.sys.clock.AfterFunc(iv, func() { s.post(keepaliveDue{}) })
	}
}

// checkKeepalive kills ready linked workers silent for longer than the
// keepalive time (SPEC §7): SIGKILL of the group, an exception, a restart.
func (s *Supervisor) checkKeepalive() {
	now := s.sys.clock.Now()
	var zombies []*worker
	for _, sl := range s.table.slots {
		if w := sl.w; w != nil && w.cause == causeNone {
			if silent, ok := silentFor(w, now); ok && silent > s.cfg.KeepaliveTime {
				zombies = append(zombies, w)
			}
		}
	}
	if len(zombies) == 0 {
		return
	}
	low, why := memoryLow(s.sys.memory)
	if low {
		if !s.lowMemory {
			s.log.warn("keepalive kills skipped while %s", why)
		}
		s.lowMemory = true
		return
	}
	if s.lowMemory {
		s.log.info("memory is back above the keepalive floor")
		s.lowMemory = false
	}
	for _, w := range zombies {
		s.log.error("worker %d (pid %d) sent no heartbeat for %v (keepalive %v): zombie, killing its process group",
			w.slot, w.p.PID(), now.Sub(w.lastBeat).Round(time.Millisecond), s.cfg.KeepaliveTime)
		s.alarm(pidOf(w), "[alarm] detected zombie worker.")
		kill(w, causeKeepalive)
	}
}
