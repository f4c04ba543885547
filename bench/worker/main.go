// Command worker is the node-agent side of the benchmarks in BENCHMARKS.md:
// the smallest HTTP worker linking package container. It serves every
// request on the agent's shared socket with its pid (header X-Worker-Pid
// and body "pid=PID start=UNIXNANO\n", where start is the wall-clock time
// main began) and exits on Done. When BENCH_READY_ADDR is set, it sends its
// pid in a UDP datagram to that address once its listener is live.
//
//	go build -o /tmp/worker ./bench/worker
//	node-agent /tmp/worker -i 4 --http-address 127.0.0.1:8080
package main

import (
	"context"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/nodeagent/node-agent/container"
)

func main() {
	start := time.Now().UnixNano()
	w, err := container.Open()
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()
	ln, err := w.Listen("tcp", "")
	if err != nil {
		log.Fatal(err)
	}
	pid := strconv.Itoa(os.Getpid())
	if addr := os.Getenv("BENCH_READY_ADDR"); addr != "" {
		if c, err := net.Dial("udp", addr); err == nil {
			c.Write([]byte(pid))
			c.Close()
		}
	}
	body := []byte("pid=" + pid + " start=" + strconv.FormatInt(start, 10) + "\n")
	srv := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("X-Worker-Pid", pid)
		rw.Header().Set("Content-Type", "text/plain")
		rw.Write(body)
	})}
	go srv.Serve(ln)
	<-w.Done()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(ctx)
}
