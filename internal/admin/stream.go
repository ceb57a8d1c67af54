package admin

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
)

// timeLayout is how the admin API writes times: RFC 3339 with milliseconds.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// streamList answers {"<name>":[…]} with at most limit items read from the
// store chunk items at a time after the sequence number after, so a long
// listing costs the server one chunk of memory, never the whole answer.
// An error before the first item is the usual error answer; one after the
// status was sent cuts the body short (its missing "]}" tells the client)
// and is logged.
func streamList[T any](w http.ResponseWriter, log *slog.Logger, name string, limit, chunk int, after int64,
	read func(after int64, n int) ([]T, error), seq func(T) int64, wire func(T) any) {
	items, err := read(after, min(limit, chunk))
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, `{"`+name+`":[`)
	sent := 0
	for len(items) > 0 {
		for _, it := range items {
			b, _ := json.Marshal(wire(it))
			if sent > 0 {
				io.WriteString(w, ",")
			}
			w.Write(b)
			sent++
		}
		if sent >= limit || len(items) < chunk {
			break
		}
		if items, err = read(seq(items[len(items)-1]), min(limit-sent, chunk)); err != nil {
			log.Error("admin: listing cut short", "list", name, "err", err)
			return
		}
	}
	io.WriteString(w, "]}\n")
}
