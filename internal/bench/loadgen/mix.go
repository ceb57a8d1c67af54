package loadgen

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// MaxWeight bounds one weight, so that the total cannot overflow.
const MaxWeight = 1000000

// Mix is the relative weight of each of a MixLoad's actions.
type Mix struct {
	Actions []string // the action names, in the order they are reported
	Weights []int    // indexed like Actions
	cum     []int    // cumulative weights, for Pick
	total   int
}

// NewMix checks weights indexed like actions.
func NewMix(actions []string, weights []int) (Mix, error) {
	if len(weights) != len(actions) {
		return Mix{}, fmt.Errorf("%d weights for %d actions", len(weights), len(actions))
	}
	m := Mix{Actions: actions, Weights: append([]int(nil), weights...), cum: make([]int, len(weights))}
	for i, w := range weights {
		if w < 0 || w > MaxWeight {
			return Mix{}, fmt.Errorf("%s=%d: the weight must be from 0 to %d", actions[i], w, MaxWeight)
		}
		m.total += w
		m.cum[i] = m.total
	}
	if m.total == 0 {
		return Mix{}, fmt.Errorf("every weight is 0: give at least one action a positive weight")
	}
	return m, nil
}

// Index is the index of the named action, or -1.
func (m Mix) Index(name string) int {
	return slices.Index(m.Actions, name)
}

// String is the canonical form, every action listed.
func (m Mix) String() string {
	parts := make([]string, len(m.Actions))
	for i, a := range m.Actions {
		parts[i] = a + "=" + strconv.Itoa(m.Weights[i])
	}
	return strings.Join(parts, ",")
}

// Share is action i's fraction of the requests.
func (m Mix) Share(i int) float64 {
	if m.total == 0 {
		return 0
	}
	return float64(m.Weights[i]) / float64(m.total)
}

// Pick draws an action index with probability weight/total.
func (m Mix) Pick(r *rand.Rand) int {
	x := r.IntN(m.total)
	for i, c := range m.cum {
		if x < c {
			return i
		}
	}
	return len(m.cum) - 1 // unreachable: x < total = cum[last]
}

// IsZero reports whether m is the zero Mix (no weights given).
func (m Mix) IsZero() bool { return m.total == 0 }
