package bench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// The actions of the mixed scenario.
const (
	ActionDescribe = "describe" // signed DescribeInstances, as the describe scenario
	ActionRelease  = "release"  // ReleaseInstance of an expired instance from a pool
	ActionCreate   = "create"   // BSS CreateInstance with a unique ClientToken
	ActionRenew    = "renew"    // BSS RenewInstance of an active instance from a pool
)

// MixActions are the mixed scenario's actions, in the order they are
// reported; a Mix's weights are indexed like it.
var MixActions = []string{ActionDescribe, ActionRelease, ActionCreate, ActionRenew}

// DefaultMix is --mix's default.
const DefaultMix = "describe=70,release=10,create=10,renew=10"

// maxWeight bounds one weight, so that the total cannot overflow.
const maxWeight = 1000000

// Mix is the relative weight of each action of MixActions.
type Mix struct {
	Weights []int // indexed like MixActions
	cum     []int // cumulative weights, for Pick
	total   int
}

// ParseMix reads "describe=70,release=10,create=10,renew=10". An action
// left out weighs 0; an unknown or repeated action, a weight that is not a
// whole number from 0 to 1000000, or weights that are all 0 are errors.
func ParseMix(s string) (Mix, error) {
	w := make([]int, len(MixActions))
	seen := make([]bool, len(MixActions))
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, val, ok := strings.Cut(item, "=")
		name, val = strings.TrimSpace(name), strings.TrimSpace(val)
		if !ok {
			return Mix{}, fmt.Errorf("%q: want ACTION=WEIGHT, e.g. %s", item, DefaultMix)
		}
		i := actionIndex(name)
		if i < 0 {
			return Mix{}, fmt.Errorf("unknown action %q (choose from %s)", name, strings.Join(MixActions, ","))
		}
		if seen[i] {
			return Mix{}, fmt.Errorf("action %q given twice", name)
		}
		seen[i] = true
		n, err := strconv.Atoi(val)
		if err != nil || n < 0 || n > maxWeight {
			return Mix{}, fmt.Errorf("%s=%s: the weight must be a whole number from 0 to %d", name, val, maxWeight)
		}
		w[i] = n
	}
	return NewMix(w)
}

// NewMix checks weights indexed like MixActions.
func NewMix(weights []int) (Mix, error) {
	if len(weights) != len(MixActions) {
		return Mix{}, fmt.Errorf("%d weights for %d actions", len(weights), len(MixActions))
	}
	m := Mix{Weights: append([]int(nil), weights...), cum: make([]int, len(weights))}
	for i, w := range weights {
		if w < 0 || w > maxWeight {
			return Mix{}, fmt.Errorf("%s=%d: the weight must be from 0 to %d", MixActions[i], w, maxWeight)
		}
		m.total += w
		m.cum[i] = m.total
	}
	if m.total == 0 {
		return Mix{}, fmt.Errorf("every weight is 0: give at least one action a positive weight")
	}
	return m, nil
}

func actionIndex(name string) int {
	for i, a := range MixActions {
		if a == name {
			return i
		}
	}
	return -1
}

// String is the canonical form, every action listed.
func (m Mix) String() string {
	parts := make([]string, len(MixActions))
	for i, a := range MixActions {
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

// poolSize is how many instances to prepare for an action expected to be
// drawn `expected` times: 10 % over, plus 100 for small counts, so that the
// binomial spread of the draws (a standard deviation of at most
// sqrt(expected)) practically never exhausts it. The mixed scenario also
// refills a pool that runs low.
func poolSize(expected float64) int {
	if expected <= 0 {
		return 0
	}
	return int(math.Ceil(expected*1.1)) + 100
}
