package agent

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/nodeagent/node-agent/container"
	"github.com/nodeagent/node-agent/internal/agent/config"
)

// lumberjackMill is the goroutine each lumberjack.Logger starts and never
// stops; an Output keeps one Logger per file for its lifetime.
const lumberjackMill = "gopkg.in/natefinch/lumberjack%2ev2.(*Logger).millRun"

// numberedHelper prints $HELPER_LINES lines "wID N PAD" to stdout through
// a buffer of $HELPER_BUF bytes (64 KiB if unset; its writes straddle
// lines), PAD of varying length, every $HELPER_LONG-th line (if set)
// 200 KiB long; then "done wID", and waits for SIGTERM.
func numberedHelper() int {
	lines, _ := strconv.Atoi(os.Getenv("HELPER_LINES"))
	long, _ := strconv.Atoi(os.Getenv("HELPER_LONG"))
	id := os.Getenv("WORKER_ID")
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	size, err := strconv.Atoi(os.Getenv("HELPER_BUF"))
	if err != nil {
		size = 64 << 10
	}
	out := bufio.NewWriterSize(os.Stdout, size)
	pad := strings.Repeat("p", 200<<10)
	b := make([]byte, 0, 256)
	for n := 0; n < lines; n++ {
		size := n * 7 % 40
		if long > 0 && n%long == long-1 {
			size = 200 << 10
		}
		b = append(b[:0], 'w')
		b = append(b, id...)
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(n), 10)
		b = append(b, ' ')
		out.Write(b)
		out.WriteString(pad[:size])
		out.WriteByte('\n')
	}
	fmt.Fprintf(out, "done w%s\n", id)
	out.Flush()
	<-sigs
	return 0
}

// echoOnUSR2Helper prints "out N" to stdout and "err N" to stderr for
// every SIGUSR2, N counting from 0, until SIGTERM.
func echoOnUSR2Helper() int {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGUSR2)
	fmt.Println("waiting for SIGUSR2")
	for n := 0; ; n++ {
		if <-sigs == syscall.SIGTERM {
			return 0
		}
		fmt.Printf("out %d\n", n)
		fmt.Fprintf(os.Stderr, "err %d\n", n)
	}
}

// logOnUSR2Helper is a linked worker that, for every SIGUSR2, logs
// "debug N", "info N" and "error N" through its Logger, prints "out N" to
// stdout and "err N debug=ENABLED" to stderr, ENABLED telling whether its
// Logger still formats DEBUG records; until asked to stop.
func logOnUSR2Helper() int {
	w, err := container.Open()
	if err != nil {
		return 5
	}
	defer w.Close()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGUSR2)
	w.Ready()
	log := w.Logger()
	fmt.Println("waiting for SIGUSR2")
	for n := 0; ; n++ {
		select {
		case <-w.Done():
			return 0
		case <-sigs:
		}
		log.Debug(fmt.Sprintf("debug %d", n))
		log.Info(fmt.Sprintf("info %d", n))
		log.Error(fmt.Sprintf("error %d", n))
		fmt.Printf("out %d\n", n)
		fmt.Fprintf(os.Stderr, "err %d debug=%v\n", n, log.Enabled(context.Background(), slog.LevelDebug))
	}
}

// openOutputHelper opens the output of service A.S under $HELPER_DIR and
// prints the error, as the agent would before exiting with code 2.
func openOutputHelper() int {
	out, err := OpenOutput(&config.Config{Name: "A.S", LogDir: os.Getenv("HELPER_DIR"), AppLogLevel: config.LevelDebug})
	if err != nil {
		fmt.Println(err)
		return ExitUsage
	}
	out.Close()
	return 0
}
