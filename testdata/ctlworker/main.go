// Command ctlworker is the worker of the `node-agent ctl` tests: a linked
// worker with admin commands that succeed, fail and hang.
//
//	app.echo DATA  answers DATA
//	app.fail       answers an error
//	app.slow       worker 0 answers "fast"; the others answer only when
//	               the worker stops
//
// It exits with code 3 at start while the file named by $CTL_BREAK exists,
// as a broken new build would, and holds back its ready while the file
// named by $CTL_HOLD exists.
package main

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/nodeagent/node-agent/container"
)

func main() { os.Exit(run()) }

func run() int {
	if f := os.Getenv("CTL_BREAK"); f != "" {
		if _, err := os.Stat(f); err == nil {
			return 3
		}
	}
	w, err := container.Open()
	if err != nil {
		return 1
	}
	defer w.Close()
	w.Handle("app.echo", func(data string) string { return data })
	w.HandleFunc("app.fail", func(context.Context, string) (string, error) {
		return "", errors.New("app.fail always fails")
	})
	w.HandleFunc("app.slow", func(ctx context.Context, _ string) (string, error) {
		if w.WorkerID() == 0 {
			return "fast", nil
		}
		select {
		case <-ctx.Done():
		case <-w.Done():
		}
		return "slow", nil
	})
	if f := os.Getenv("CTL_HOLD"); f != "" {
		for {
			if _, err := os.Stat(f); err != nil {
				break
			}
			select {
			case <-w.Done():
				return 0
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	w.Ready()
	<-w.Done()
	return 0
}
