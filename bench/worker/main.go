// Command worker is the node-agent side of the benchmarks in BENCHMARKS.md:
// the smallest HTTP worker linking package container. It serves every
// request on the agent's shared socket with its pid (header X-Worker-Pid
// and body "pid=PID start=UNIXNANO\n", where start is the wall-clock time
// main began) and exits on Done. When BENCH_READY_ADDR is set, it sends its
// pid in a UDP datagram to that address once its listener is live.
// GET /grow?mb=N makes it hold N MiB more of touched memory and answer
// "grown pid=PID rss=BYTES" (the memory-restart benchmark).
//
//	go build -o /tmp/worker ./bench/worker
//	node-agent /tmp/worker -i 4 --http-address 127.0.0.1:8080
package main

import (
	"log"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
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
	var mu sync.Mutex
	var ballast [][]byte
	srv := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("X-Worker-Pid", pid)
		rw.Header().Set("Content-Type", "text/plain")
		if r.URL.Path == "/grow" {
			mb, _ := strconv.Atoi(r.URL.Query().Get("mb"))
			b := make([]byte, mb<<20)
			for i := range b {
				b[i] = byte(i)
			}
			mu.Lock()
			ballast = append(ballast, b)
			mu.Unlock()
			rw.Write([]byte("grown pid=" + pid + " rss=" + strconv.FormatInt(selfRSS(), 10) + "\n"))
			return
		}
		rw.Write(body)
	})}
	// Drained without dropping a request: see container.ServeHTTP.
	if err := w.Serve(srv, ln, container.DrainOptions{}); err != nil {
		log.Print(err)
	}
	runtime.KeepAlive(&ballast)
}

// selfRSS reads this process's resident set size in bytes.
func selfRSS() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}
