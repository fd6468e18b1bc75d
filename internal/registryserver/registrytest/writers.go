package registrytest

// Fault injection around the REAL in-process registry. A Faults value is an
// http middleware (pass Faults.Option() to Start) that, by deterministic
// schedules, replaces or disturbs some requests before or after the real
// handler runs: 429s with Retry-After in both forms, 5xx replies, connections
// reset after the registry committed a request, replies slower than the
// client's timeout, and a "registry down" switch that drops every connection.
// The registry's store is never touched, so what the registry committed stays
// committed whatever the client saw.
//
// Schedules are deterministic under concurrency: every Rule numbers the
// requests it considers with an atomic counter and picks the k-th of them by
// arithmetic on that number alone. Which request gets which number depends on
// arrival order, but how many are picked (and so how many faults fire) does
// not. Every Rule and the down switch count what they did, so a test can
// assert that its faults actually fired.

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
)

// Response writers the faults wrap around the real handlers.

// replayWatcher counts replayed creates on their way out.
type replayWatcher struct {
	http.ResponseWriter
	f       *Faults
	checked bool
}

func (w *replayWatcher) WriteHeader(code int) {
	if !w.checked {
		w.checked = true
		w.f.observe(w.Header())
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *replayWatcher) Write(b []byte) (int, error) {
	if !w.checked {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *replayWatcher) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// bufferedWriter holds a whole reply so the handler can finish (and commit)
// before the fault decides what the client gets.
type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header { return b.header }

func (b *bufferedWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

func (b *bufferedWriter) flushTo(w http.ResponseWriter) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	w.WriteHeader(max(b.status, http.StatusOK))
	_, _ = w.Write(b.body.Bytes())
}

// resetConn takes the connection from net/http and closes it with SO_LINGER 0,
// so the peer gets a TCP RST and no reply bytes. If the writer cannot be
// hijacked (HTTP/2), it panics with http.ErrAbortHandler, which makes net/http
// abort the reply without writing it.
func resetConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}

func writeFaultError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, `{"success":false,"error":%q,"message":%q}`, code, message)
}
