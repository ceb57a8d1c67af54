package loadgen

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// tally is one worker's record of one action: no locks on the hot path,
// merged when the load ends.
type tally struct {
	requests, ok, errs int64
	codes              map[string]int64 // errors by code
	samples            Samples
	firstErr           string
	firstErrAt         time.Time
}

// record notes one answer (or transport failure) that took lat and
// arrived at at.
func (t *tally) record(lat time.Duration, at time.Time, status int, err error, body []byte) {
	t.requests++
	t.samples = append(t.samples, lat)
	if err == nil && status >= 200 && status <= 299 {
		t.ok++
		return
	}
	t.errs++
	code, msg := errorCode(status, err, body)
	if t.codes == nil {
		t.codes = map[string]int64{}
	}
	t.codes[code]++
	if t.firstErr == "" {
		t.firstErr, t.firstErrAt = msg, at
	}
}

// errorCode classifies a failure: the Alibaba error Code of the body when
// there is one, else "HTTP <status>", or "transport" when no answer came.
// msg is what the report shows of it.
func errorCode(status int, err error, body []byte) (code, msg string) {
	if err != nil {
		return "transport", err.Error()
	}
	msg = fmt.Sprintf("HTTP %d: %s", status, Truncate(string(body), 600))
	var e struct{ Code string }
	if json.Unmarshal(body, &e) == nil && e.Code != "" {
		return e.Code, msg
	}
	return fmt.Sprintf("HTTP %d", status), msg
}

// ActionResult is one action's figures in a mixed load (or, as Total, all
// actions together). OKPerSec counts 2xx answers only.
type ActionResult struct {
	Action         string
	Requests       int64
	OK             int64
	Errors         int64
	ErrorCodes     map[string]int64 `json:",omitempty"`
	RequestsPerSec float64
	OKPerSec       float64
	Latency        Latency
	FirstError     string `json:",omitempty"`
}

// aggregate merges every worker's tallies (parts[w][a] is worker w's
// tally of action a) into one result per action, in the order of names,
// and the total over all actions. secs is the measured window.
func aggregate(names []string, parts [][]tally, secs float64) (total ActionResult, actions []ActionResult) {
	total = ActionResult{Action: "all"}
	var all []Samples
	var totalFirstAt time.Time
	for a, name := range names {
		r := ActionResult{Action: name}
		var samples []Samples
		var firstAt time.Time
		for _, w := range parts {
			t := &w[a]
			r.Requests += t.requests
			r.OK += t.ok
			r.Errors += t.errs
			for code, n := range t.codes {
				if r.ErrorCodes == nil {
					r.ErrorCodes = map[string]int64{}
				}
				r.ErrorCodes[code] += n
				if total.ErrorCodes == nil {
					total.ErrorCodes = map[string]int64{}
				}
				total.ErrorCodes[name+":"+code] += n
			}
			if t.firstErr != "" && (r.FirstError == "" || t.firstErrAt.Before(firstAt)) {
				r.FirstError, firstAt = t.firstErr, t.firstErrAt
			}
			samples = append(samples, t.samples)
		}
		merged := Merge(samples...)
		r.Latency = merged.Summary()
		rates(&r, secs)
		actions = append(actions, r)
		all = append(all, merged)
		total.Requests += r.Requests
		total.OK += r.OK
		total.Errors += r.Errors
		if r.FirstError != "" && (total.FirstError == "" || firstAt.Before(totalFirstAt)) {
			total.FirstError, totalFirstAt = name+": "+r.FirstError, firstAt
		}
	}
	total.Latency = Merge(all...).Summary()
	rates(&total, secs)
	return total, actions
}

func rates(r *ActionResult, secs float64) {
	if secs > 0 {
		r.RequestsPerSec = Round1(float64(r.Requests) / secs)
		r.OKPerSec = Round1(float64(r.OK) / secs)
	}
}

// SortedCodes lists codes by count, largest first (then by name), as the
// report shows them.
func SortedCodes(codes map[string]int64) []string {
	keys := make([]string, 0, len(codes))
	for k := range codes {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if codes[a] != codes[b] {
			if codes[a] > codes[b] {
				return -1
			}
			return 1
		}
		if a < b {
			return -1
		}
		if a > b {
			return 1
		}
		return 0
	})
	return keys
}
