package container_test

import (
	"io"
	"log"
	"net/http"
	"time"

	"github.com/nodeagent/node-agent/container"
)

// A worker's main: serve until the agent asks for a graceful stop (rolling
// reload, scale down, shutdown), drain without losing a request, then do
// the service's own draining and return.
func ExampleWorker_Serve() {
	w, err := container.Open()
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()
	ln, err := w.Listen("tcp", "") // the agent's --http-address
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, _ *http.Request) { io.WriteString(rw, "ok") })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	opts := container.DrainOptions{IdleGrace: time.Second, Timeout: 5 * time.Second}
	if err := w.Serve(srv, ln, opts); err != nil {
		w.Logger().Warn("drain incomplete", "err", err)
	}
	// Flush queues, close databases: the HTTP side is done.
}
