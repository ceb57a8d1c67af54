package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"moat/internal/moat"
)

// TestUpdateRacingCloseReturns pins the interleaving where Update has
// passed its "closing?" check, Close then stops the writer, and Update's
// send to the queue still succeeds (the queue is buffered). Update must
// return an error instead of waiting forever for an answer no one will
// send. The interleaving is recreated by hand because it is too narrow to
// hit reliably by racing goroutines; a regression shows as a test timeout.
func TestUpdateRacingCloseReturns(t *testing.T) {
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "moat.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// The writer has stopped; make Update's first check miss the closing,
	// as it does when Close runs just after that check.
	s.main.closing = make(chan struct{})
	ran := false
	err = s.Update(context.Background(), func(moat.Tx) error { ran = true; return nil })
	if err == nil {
		t.Fatal("Update after the writer stopped returned nil")
	}
	if moat.ErrorKind(err) != moat.KindUnavailable {
		t.Errorf("Update after the writer stopped = %v, want an unavailable error", err)
	}
	if ran {
		t.Error("Update ran fn after the writer stopped")
	}
}
