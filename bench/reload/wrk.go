package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// wrkResult is the RESULT line of pace.lua.
type wrkResult struct {
	Requests   int64   `json:"requests"`
	DurationUS int64   `json:"duration_us"`
	Connect    int64   `json:"connect"`
	Read       int64   `json:"read"`
	Write      int64   `json:"write"`
	Status     int64   `json:"status"` // answers with a status ≥ 400
	Timeout    int64   `json:"timeout"`
	P50US      int64   `json:"p50_us"`
	P90US      int64   `json:"p90_us"`
	P99US      int64   `json:"p99_us"`
	MaxUS      int64   `json:"max_us"`
	MeanUS     float64 `json:"mean_us"`
}

// failed counts the requests that failed: socket errors of every kind and
// non-2xx answers.
func (w wrkResult) failed() int64 { return w.Connect + w.Read + w.Write + w.Timeout + w.Status }

// wrkRun runs wrk with pace.lua against GET /healthz on port for d.
func wrkRun(ctx context.Context, o options, port int, client string, d time.Duration) (wrkResult, error) {
	var res wrkResult
	secs := int((d + time.Second - 1) / time.Second)
	cctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(cctx, o.wrk,
		"-t", strconv.Itoa(o.threads), "-c", strconv.Itoa(o.conns), "-d", strconv.Itoa(secs)+"s",
		"--timeout", "2s", "-s", o.lua, fmt.Sprintf("http://127.0.0.1:%d/healthz", port))
	cmd.Env = append(os.Environ(), "WRK_RATE="+strconv.Itoa(o.rate), "WRK_CONNS="+strconv.Itoa(o.conns), "WRK_CLOSE=0")
	if client == "close" {
		cmd.Env = append(cmd.Env, "WRK_CLOSE=1")
	}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	appendLog(filepath.Join(o.work, "wrk.log"), out.String()+errb.String())
	if err != nil {
		return res, fmt.Errorf("wrk: %w: %s", err, strings.TrimSpace(errb.String()))
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if j, ok := strings.CutPrefix(line, "RESULT "); ok {
			if err := json.Unmarshal([]byte(j), &res); err != nil {
				return res, fmt.Errorf("wrk result %q: %w", j, err)
			}
			return res, nil
		}
	}
	return res, fmt.Errorf("wrk printed no RESULT line (see %s)", filepath.Join(o.work, "wrk.log"))
}

func appendLog(path, text string) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	f.WriteString(text)
}
