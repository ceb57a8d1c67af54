package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"
)

// BaselineBody is the bare handler's answer: about the size of a small
// Alibaba RPC success body.
const BaselineBody = `{"RequestId":"0F6B2B8C-6E1A-4C39-9B0B-6A4C2D2B7E11","Status":"ok"}`

// BaselineReady is the prefix of the line the baseline prints when it
// listens; the address follows.
const BaselineReady = "moat bench baseline ready addr="

// BaselineHandler answers every request 200 with BaselineBody. It reads
// nothing and writes nothing else: what moat adds on top of it (parsing,
// signature check, nonce commit, store read, encoding, logging) is what the
// ratio to it measures.
func BaselineHandler() http.Handler {
	body := []byte(BaselineBody)
	length := strconv.Itoa(len(body))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", length)
		w.WriteHeader(http.StatusOK)
		w.Write(body)
	})
}

// ServeBaseline serves BaselineHandler on addr until ctx ends, with the
// same http.Server limits as moat serve, and prints the ready line to
// stderr.
func ServeBaseline(ctx context.Context, addr string, stderr io.Writer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{
		Handler:           BaselineHandler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(slog.NewTextHandler(stderr, nil), slog.LevelWarn),
	}
	fmt.Fprintf(stderr, "%s%s\n", BaselineReady, ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
