package control

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// InUseError is returned by Listen when another agent with the same name
// runs on this host.
type InUseError struct {
	Name string
	PID  int // 0 when the other agent has not written its pid yet
	Lock string
}

func (e *InUseError) Error() string {
	pid := "pid unknown"
	if e.PID > 0 {
		pid = "pid " + strconv.Itoa(e.PID)
	}
	return fmt.Sprintf("another agent named %s already runs (%s, lock %s): stop it first or give this one another --name", e.Name, pid, e.Lock)
}

// Listener is the control socket of one agent, holding the name's lock.
type Listener struct {
	*net.UnixListener
	path string
	lock *os.File
	// Stale is the pid of a killed agent whose socket was taken over, or 0.
	Stale int
}

// Path returns the socket's path.
func (l *Listener) Path() string { return l.path }

// Close stops listening and removes the socket and the lock file, then
// releases the lock.
func (l *Listener) Close() error {
	err := l.UnixListener.Close()
	os.Remove(l.path)
	os.Remove(l.lock.Name())
	l.lock.Close()
	return err
}

// Listen takes the lock of name in dir and serves its socket (see the
// package doc). Errors: *InUseError when another agent holds the name;
// others (an unsafe dir, a path too long for a unix socket) name the path.
func Listen(dir, name string) (*Listener, error) {
	if err := ensureDir(dir); err != nil {
		return nil, err
	}
	path := Path(dir, name)
	if len(path) > maxSocketPath {
		return nil, fmt.Errorf("control socket %s: path longer than %d bytes (set XDG_RUNTIME_DIR to a shorter dir)", path, maxSocketPath)
	}
	lock, prev, err := takeLock(lockPath(dir, name), name)
	if err != nil {
		return nil, err
	}
	stale := 0
	if _, err := os.Lstat(path); err == nil {
		stale = prev
		if stale == 0 {
			stale = -1
		}
		if err := os.Remove(path); err != nil {
			lock.Close()
			return nil, fmt.Errorf("control socket %s: removing the stale one: %w", path, err)
		}
	}
	ul, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		os.Remove(lock.Name())
		lock.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	ul.SetUnlinkOnClose(false)
	if err := os.Chmod(path, 0o600); err != nil {
		ul.Close()
		os.Remove(path)
		os.Remove(lock.Name())
		lock.Close()
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	return &Listener{UnixListener: ul, path: path, lock: lock, Stale: stale}, nil
}

// ensureDir creates dir (0700) and checks it belongs to this user and is
// not writable by others.
func ensureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("control socket dir: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return fmt.Errorf("control socket dir %s: %w", dir, err)
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFDIR:
		return fmt.Errorf("control socket dir %s is not a directory", dir)
	case int(st.Uid) != os.Geteuid():
		return fmt.Errorf("control socket dir %s belongs to uid %d, not to this user (%d)", dir, st.Uid, os.Geteuid())
	case st.Mode&0o022 != 0:
		return fmt.Errorf("control socket dir %s is writable by others (mode %o): chmod 700 it", dir, st.Mode&0o777)
	}
	return nil
}

// takeLock locks path exclusively, without waiting, and writes this
// process's pid in it. It returns the pid the file held before (the
// previous owner, 0 if none). Contention is an *InUseError.
func takeLock(path, name string) (*os.File, int, error) {
	for range 5 {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, 0, fmt.Errorf("control lock: %w", err)
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			pid := readPID(f)
			f.Close()
			if errors.Is(err, unix.EWOULDBLOCK) {
				return nil, 0, &InUseError{Name: name, PID: pid, Lock: path}
			}
			return nil, 0, fmt.Errorf("control lock %s: %w", path, err)
		}
		if !samePath(f, path) {
			// The owner removed the file between our open and our lock:
			// the lock is on a dead inode. Take the new one.
			f.Close()
			continue
		}
		prev := readPID(f)
		if err := writePID(f); err != nil {
			f.Close()
			return nil, 0, fmt.Errorf("control lock %s: %w", path, err)
		}
		return f, prev, nil
	}
	return nil, 0, fmt.Errorf("control lock %s: replaced under us again and again", path)
}

func samePath(f *os.File, path string) bool {
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	pi, err := os.Stat(path)
	if err != nil {
		return false
	}
	return os.SameFile(fi, pi)
}

func readPID(f *os.File) int {
	b := make([]byte, 32)
	n, _ := f.ReadAt(b, 0)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b[:n])))
	return pid
}

func writePID(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return err
}

// Held reports whether an agent holds the lock of name in dir, and its pid.
func Held(dir, name string) (bool, int) {
	f, err := os.Open(lockPath(dir, name))
	if err != nil {
		return false, 0
	}
	defer f.Close()
	pid := readPID(f)
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err != nil {
		return errors.Is(err, syscall.EWOULDBLOCK), pid
	}
	unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return false, pid
}
