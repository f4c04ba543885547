// Command worker is the Go worker of the log benchmark (bench/logs): it
// writes $BENCH_LINES lines of exactly 100 bytes to stdout through a
// 64 KiB buffer, then waits for SIGTERM. Just before the first line it
// writes its wall-clock start (Unix ns) to $BENCH_STAMP_DIR/PID.
//
// Line n of worker $WORKER_ID (0 when unset) is "wID NNNNNNN " followed by
// the letter 'a'+(n+ID)%26 up to 99 bytes, and a newline; the checker of
// bench/logs/logbench rebuilds it exactly.
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

func main() {
	n, err := strconv.Atoi(os.Getenv("BENCH_LINES"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker: BENCH_LINES:", err)
		os.Exit(2)
	}
	id, _ := strconv.Atoi(os.Getenv("WORKER_ID"))
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	out := bufio.NewWriterSize(os.Stdout, 64<<10)
	stamp := strconv.FormatInt(time.Now().UnixNano(), 10)
	if dir := os.Getenv("BENCH_STAMP_DIR"); dir != "" {
		os.WriteFile(filepath.Join(dir, strconv.Itoa(os.Getpid())), []byte(stamp), 0o644)
	}
	l := newLiner(id)
	for i := 0; i < n; i++ {
		out.Write(l.line(i))
	}
	out.Flush()
	<-sigs
}

// liner builds the lines of one worker without allocating: a prefix
// "wID ", seven digits, a space, then a fill of one letter up to 99 bytes.
type liner struct {
	buf     [100]byte
	digits  int // offset of the seven digits in buf
	fills   [26][]byte
	idShift int
}

func newLiner(id int) *liner {
	l := &liner{idShift: id}
	p := append(l.buf[:0], 'w')
	p = strconv.AppendInt(p, int64(id), 10)
	p = append(p, ' ')
	l.digits = len(p)
	l.buf[l.digits+7] = ' '
	l.buf[99] = '\n'
	for c := range l.fills {
		l.fills[c] = bytes.Repeat([]byte{byte('a' + c)}, 99)
	}
	return l
}

// line returns line i (valid until the next call); the checker of
// bench/logs/logbench rebuilds it independently.
func (l *liner) line(i int) []byte {
	for k, v := l.digits+6, i; k >= l.digits; k, v = k-1, v/10 {
		l.buf[k] = byte('0' + v%10)
	}
	start := l.digits + 8
	copy(l.buf[start:99], l.fills[(i+l.idShift)%26])
	return l.buf[:]
}
