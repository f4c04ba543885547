// Command upgradeworker is the worker of the agent's upgrade-in-place
// tests: an HTTP worker linking package container that answers every
// request with its pid (header X-Worker-Pid) and, every 2 ms, writes a
// numbered line to stdout ("out WORKER_ID N") and a numbered record
// through the container logger, on its channel ("rec WORKER_ID N"), so
// that a test can tell a lost or repeated line across the hand-over. Its
// requests are counted (MonitorHTTP) when the agent collects statistics.
// UPGRADEWORKER_DELAY (a duration) delays its listening, so that a reload
// lasts.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/nodeagent/node-agent/container"
)

func main() {
	w, err := container.Open()
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()
	if d, err := time.ParseDuration(os.Getenv("UPGRADEWORKER_DELAY")); err == nil {
		time.Sleep(d)
	}
	ln, err := w.Listen("tcp", "")
	if err != nil {
		log.Fatal(err)
	}
	id, pid := os.Getenv("WORKER_ID"), strconv.Itoa(os.Getpid())
	go func() {
		logger := w.Logger()
		for n := 1; ; n++ {
			fmt.Printf("out %s %d\n", id, n)
			logger.Info(fmt.Sprintf("rec %s %d", id, n))
			time.Sleep(2 * time.Millisecond)
		}
	}()
	// Its requests are counted for the agent's metrics and TARS stats.
	srv := &http.Server{Handler: w.MonitorHTTP(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("X-Worker-Pid", pid)
		rw.Write([]byte("pid=" + pid + "\n"))
	}))}
	if err := w.Serve(srv, ln, container.DrainOptions{}); err != nil {
		log.Print(err)
	}
}
