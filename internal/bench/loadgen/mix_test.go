package loadgen

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Pick draws each action in proportion to its weight: over 200,000 draws
// every share is within 5 standard deviations of its weight's share, and
// an action of weight 0 is never drawn.
func TestMixPickDistribution(t *testing.T) {
	for _, weights := range [][]int{{70, 10, 10, 10}, {1, 0, 0, 3}, {0, 1, 1, 0}, {5, 3, 2, 1}} {
		m, err := NewMix(mixActions, weights)
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(1, 2))
		const n = 200000
		counts := make([]int, len(mixActions))
		for range n {
			counts[m.Pick(r)]++
		}
		for i, c := range counts {
			p := m.Share(i)
			if p == 0 {
				if c != 0 {
					t.Errorf("%v: %s has weight 0 but was drawn %d times", weights, mixActions[i], c)
				}
				continue
			}
			sd := math.Sqrt(n * p * (1 - p))
			if math.Abs(float64(c)-n*p) > 5*sd {
				t.Errorf("%v: %s drawn %d times, want %.0f ± %.0f", weights, mixActions[i], c, n*p, 5*sd)
			}
		}
	}
}
