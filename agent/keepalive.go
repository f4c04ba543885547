package agent

import "time"

// heartbeatInterval is how often a linked worker sends heartbeats:
// keepalive/5 (SPEC §7), none when keepalive is off.
func heartbeatInterval(keepalive time.Duration) time.Duration {
	if keepalive <= 0 {
		return 0
	}
	return max(keepalive/5, 10*time.Millisecond)
}
