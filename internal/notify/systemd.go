package notify

import (
	"errors"
	"os"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// Systemd sends sd_notify(3) messages to the service manager named by
// NOTIFY_SOCKET. Use NewSystemd; a nil *Systemd means "not under systemd".
type Systemd struct {
	watchdog time.Duration
}

// ErrNotSent is returned by Notify when the message could not be sent
// because NOTIFY_SOCKET disappeared from the environment.
var ErrNotSent = errors.New("notify: NOTIFY_SOCKET is not set")

// NewSystemd returns a Systemd when the process runs under a service
// manager that asked for notifications (NOTIFY_SOCKET is set), else nil.
// The watchdog interval is read once: WATCHDOG_USEC, when WATCHDOG_PID is
// unset or names this process.
func NewSystemd() *Systemd {
	if os.Getenv("NOTIFY_SOCKET") == "" {
		return nil
	}
	iv, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		iv = 0
	}
	return &Systemd{watchdog: iv}
}

// Notify sends the states ("READY=1", "STATUS=…") as one datagram, in
// order. It never blocks for long: the socket is a datagram socket.
func (s *Systemd) Notify(state ...string) error {
	sent, err := daemon.SdNotify(false, strings.Join(state, "\n"))
	if err != nil {
		return err
	}
	if !sent {
		return ErrNotSent
	}
	return nil
}

// WatchdogInterval is the systemd watchdog timeout (WATCHDOG_USEC), 0 when
// the watchdog is off or meant for another process. Ping at half of it.
func (s *Systemd) WatchdogInterval() time.Duration { return s.watchdog }
