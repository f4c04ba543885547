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
	line := make([]byte, 0, 100)
	for i := 0; i < n; i++ {
		line = appendLine(line[:0], id, i)
		out.Write(line)
	}
	out.Flush()
	<-sigs
}

// appendLine appends line i of worker id (kept in step with the checker).
func appendLine(b []byte, id, i int) []byte {
	b = append(b, 'w')
	b = strconv.AppendInt(b, int64(id), 10)
	b = append(b, ' ')
	num := strconv.Itoa(i)
	for k := len(num); k < 7; k++ {
		b = append(b, '0')
	}
	b = append(b, num...)
	b = append(b, ' ')
	c := byte('a' + (i+id)%26)
	for len(b) < 99 {
		b = append(b, c)
	}
	return append(b, '\n')
}
