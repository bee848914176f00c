package dashboard

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// BenchmarkRelease protects ten years of applications of 71 services by
// channel and sex, a third of the cells small: the public release of a
// town that uses the portal little, built once a collection.
func BenchmarkRelease(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	var cells []baseCell
	for y := 2016; y < 2026; y++ {
		for s := range 71 {
			for _, ch := range []string{"online", "counter"} {
				for _, sex := range Sexes {
					n := int64(r.IntN(60))
					if r.IntN(3) == 0 {
						n = int64(r.IntN(5))
					}
					cells = append(cells, baseCell{Figure: Applications, Period: strconv.Itoa(y), Key: "s" + strconv.Itoa(s) + ":" + ch, Sex: sex, N: n})
				}
			}
		}
	}
	for b.Loop() {
		rel := release(cells)
		if rel == nil {
			b.Fatal("no release")
		}
	}
}
