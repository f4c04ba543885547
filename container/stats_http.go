package container

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// MonitorHTTP returns next wrapped to record each request's outcome and
// latency for the agent, which reports them to Prometheus and TARS StatF:
//
//	srv := &http.Server{Handler: w.MonitorHTTP(mux)}
//
// A request fails when its status is at or above the threshold
// (--tars-monitor-http-threshold, 400 by default), when writing the response
// failed or the client went away before the handler returned, or when the
// handler panicked (the panic goes on). Its interface is the route pattern
// that served it when an http.ServeMux routed it ("/api/sms/{id}", without
// the method), else its URL path; with --tars-monitor-http-seppath off, "".
// A worker reports at most wire.MaxInterfaces names; requests beyond them
// count under "(other)", so paths carrying ids cannot grow memory.
//
// Recording takes no lock and allocates nothing. With monitoring off (the
// agent did not ask for it, or no agent) MonitorHTTP returns next itself.
//
// The ResponseWriter handlers see implements http.Flusher, http.Hijacker and
// io.ReaderFrom by delegating (Hijack fails with http.ErrNotSupported when
// the connection cannot be hijacked), and Unwrap for http.ResponseController.
// It is recycled for another request once the handler returns, so, as
// net/http already requires, it must not be used after that.
func (w *Worker) MonitorHTTP(next http.Handler) http.Handler {
	if !w.monitor.on {
		return next
	}
	return &statsHandler{next: next, m: w.monitor}
}

type statsHandler struct {
	next http.Handler
	m    *monitor
}

func (h *statsHandler) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	// Monotonic readings only: time.Now would also read the wall clock.
	start := time.Since(h.m.epoch)
	sw := h.m.writers.Get().(*statusWriter)
	*sw = statusWriter{ResponseWriter: rw}
	returned := false
	defer func() {
		failed := !returned || sw.failed || r.Context().Err() != nil
		if t := h.m.opts.HTTPThreshold; t > 0 && sw.code() >= t {
			failed = true
		}
		h.m.http.observe(h.m.iface(r), time.Since(h.m.epoch)-start, failed)
		*sw = statusWriter{}
		h.m.writers.Put(sw)
	}()
	h.next.ServeHTTP(sw, r)
	returned = true
}

// iface names the interface of r: its ServeMux pattern without method and
// host ("GET /api/{id}" → "/api/{id}", "/{$}" → "/"), else its path.
func (m *monitor) iface(r *http.Request) string {
	if !m.opts.Seppath {
		return ""
	}
	if p := r.Pattern; p != "" {
		if i := strings.IndexByte(p, '/'); i >= 0 {
			p = p[i:]
		}
		if p = strings.TrimSuffix(p, "{$}"); p != "" {
			return p
		}
	}
	if r.URL == nil || r.URL.Path == "" {
		return "/"
	}
	return r.URL.Path
}

// statusWriter records the status of a response and whether writing it
// failed.
type statusWriter struct {
	http.ResponseWriter
	status   int
	hijacked bool
	failed   bool
}

// code is the response's status: 200 when the handler wrote nothing,
// 101 after a hijack.
func (s *statusWriter) code() int {
	switch {
	case s.hijacked:
		return http.StatusSwitchingProtocols
	case s.status == 0:
		return http.StatusOK
	}
	return s.status
}

func (s *statusWriter) WriteHeader(code int) {
	// Informational headers (103 Early Hints) may precede the real one.
	if s.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	if err != nil {
		s.failed = true
	}
	return n, err
}

func (s *statusWriter) ReadFrom(src io.Reader) (int64, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	var (
		n   int64
		err error
	)
	if rf, ok := s.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(struct{ io.Writer }{s.ResponseWriter}, src)
	}
	if err != nil {
		s.failed = true
	}
	return n, err
}

func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		if s.status == 0 {
			s.status = http.StatusOK
		}
		f.Flush()
	}
}

func (s *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := s.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, http.ErrNotSupported
	}
	c, rw, err := h.Hijack()
	if err == nil {
		s.hijacked = true
	}
	return c, rw, err
}

// Unwrap gives http.ResponseController the underlying writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
