package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/fsnotify/fsnotify"
	"github.com/nodeagent/node-agent/internal/control"
	"github.com/urfave/cli/v2"
)

// defaultLogLines is how many past lines `logs` shows.
const defaultLogLines = 20

func logsCommand() *cli.Command {
	return &cli.Command{
		Name:  "logs",
		Usage: "show an agent's last log lines; -f follows them (the files of -l DIR, or its live stdout)",
		UsageText: "node-agent logs [NAME] [-f] [-n N] [--agent]\n\n" +
			"Shows the service log (what the workers write); --agent shows the agent's own log.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "keep printing new lines until interrupted or the agent stops"},
			&cli.IntFlag{Name: "lines", Aliases: []string{"n"}, Value: defaultLogLines, Usage: "show the last `N` lines first"},
			&cli.BoolFlag{Name: "agent", Usage: "the agent log instead of the service log"},
		},
		BashComplete: completeNames,
		Action: func(c *cli.Context) error {
			if c.Args().Len() > 1 {
				return usagef("logs", "takes at most one NAME")
			}
			if c.Int("lines") < 0 {
				return usagef("logs", "-n %d is negative", c.Int("lines"))
			}
			t, err := findTarget("logs", nameArg(c, 0))
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			infoCtx, cancel := context.WithTimeout(ctx, callTimeout)
			info, err := control.GetInfo(infoCtx, t.path)
			cancel()
			if err != nil {
				return t.failure("logs", err)
			}
			file, source := info.AppLog, control.SourceApp
			if c.Bool("agent") {
				file, source = info.AgentLog, control.SourceAgent
			}
			w := c.App.Writer
			if file != "" {
				if err := tailFile(ctx, w, file, c.Int("lines"), c.Bool("follow")); err != nil {
					return failf("logs", "%v", err)
				}
				return nil
			}
			req := control.Request{Source: source, Lines: c.Int("lines"), Follow: c.Bool("follow")}
			err = control.Logs(ctx, t.path, req, func(text string) error {
				_, err := io.WriteString(w, text)
				return err
			})
			if errors.Is(err, io.EOF) {
				fmt.Fprintf(c.App.ErrWriter, "node-agent logs: agent %s stopped\n", t.name)
				return nil
			}
			if err != nil {
				return t.failure("logs", err)
			}
			return nil
		},
	}
}

// tailFile prints the last n lines of the file at path and, with follow,
// what is appended to it until ctx ends, across rotations (the file
// renamed away and created again: tail -F).
func tailFile(ctx context.Context, w io.Writer, path string, n int, follow bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer func() { f.Close() }()
	if err := writeLastLines(w, f, n); err != nil {
		return err
	}
	if !follow {
		return nil
	}
	watcher, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	defer watcher.Close()
	if err := watcher.Add(filepath.Dir(path)); err != nil {
		return err
	}
	for {
		// Copy what is there: the file may have grown before the watch.
		if _, err := io.Copy(w, f); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case err := <-watcher.Errors:
			return err
		case ev := <-watcher.Events:
			if ev.Name != path || !ev.Has(fsnotify.Create) {
				continue
			}
			// Rotated: finish the old file, then read the new one.
			if _, err := io.Copy(w, f); err != nil {
				return err
			}
			nf, err := os.Open(path)
			if err != nil {
				continue // renamed again already; the next Create reopens it
			}
			f.Close()
			f = nf
		}
	}
}

// writeLastLines writes the last n lines of f and leaves f at its end.
func writeLastLines(w io.Writer, f *os.File, n int) error {
	end, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	// Read back block by block until n+1 newlines are in.
	const block = 64 << 10
	var tail []byte
	for off := end; off > 0 && bytes.Count(tail, []byte("\n")) <= n; {
		size := min(int64(block), off)
		off -= size
		buf := make([]byte, size)
		if _, err := f.ReadAt(buf, off); err != nil {
			return err
		}
		tail = append(buf, tail...)
	}
	var lines [][]byte
	sc := bufio.NewScanner(bytes.NewReader(tail))
	sc.Buffer(make([]byte, 0, 64<<10), len(tail)+1)
	for sc.Scan() {
		lines = append(lines, append(sc.Bytes(), '\n'))
	}
	for _, l := range lines[max(0, len(lines)-n):] {
		if _, err := w.Write(l); err != nil {
			return err
		}
	}
	return nil
}
