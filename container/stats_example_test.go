package container_test

import (
	"io"
	"log"
	"net/http"

	"github.com/nodeagent/node-agent/container"
)

// A worker that reports its requests and a custom property. Under an agent
// with --metrics-address or TARS reporting, the requests appear by route
// pattern ("/api/items/{id}") and outcome; run by hand, nothing is recorded.
func ExampleWorker_MonitorHTTP() {
	w, err := container.Open()
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close() // sends the last statistics
	depth, err := w.Property("App.Server.queueDepth", container.Max, container.Avg, container.Distr(10, 100, 1000))
	if err != nil {
		log.Fatal(err)
	}
	queue := make(chan string, 1000)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/items/{id}", func(rw http.ResponseWriter, r *http.Request) {
		queue <- r.PathValue("id")
		depth.Report(float64(len(queue)))
		rw.WriteHeader(http.StatusAccepted)
	})
	mux.HandleFunc("GET /api/items/{id}", func(rw http.ResponseWriter, r *http.Request) {
		io.WriteString(rw, `{"id":"`+r.PathValue("id")+`"}`)
	})
	ln, err := w.Listen("tcp", "")
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: w.MonitorHTTP(mux)}
	go srv.Serve(ln)
	<-w.Done()
	srv.Close()
}
