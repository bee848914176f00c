package dashboard

// The method of the costs saved and the hours returned (README,
// "Cruscotto": "Cost saved and hours returned"). Every figure is an estimate of the dashboard's own, stated
// here with where it comes from, so that the town can replace it with its
// own measures (the time-use survey's trips, the queue's waits).
const (
	// CostDesk and CostOnline are the cost to the administration of one
	// transaction at the desk and online, in euro cents: SOCITM Insight's
	// channel benchmark of UK local government (2012: face to face £8.62,
	// web £0.15 per transaction), as quoted by the UK Cabinet Office's
	// Digital Efficiency Report (November 2012), converted at the ECB's
	// average reference rate of 2012 (€1 = £0.81087). No Italian
	// municipal benchmark of the same kind was found; the town should put
	// its own cost accounting here.
	CostDesk   = 1063 // €10.63
	CostOnline = 18   // €0.18
	// TripMinutes is the round trip to the town hall's counter an online
	// application avoids: 2 × 15 minutes, the dashboard's assumption for a
	// town of 12 km² whose offices are central (ISTAT's time-use survey
	// 2013-2014 gives no trip time to public offices by itself). The
	// town's time-use survey (package timeuse) measures its residents'
	// trips: its figure should replace this one.
	TripMinutes = 30
	// WaitMinutes is the wait at the counter an online application avoids
	// where the queue has not measured one: 20 minutes, the dashboard's
	// assumption. Once the queue (package booking) has handed over the
	// waits of at least MinWaitTickets tickets (QueueWaits), their mean
	// (MeasuredWait) is used instead.
	WaitMinutes = 20
	// MinWaitTickets is the fewest served tickets whose mean wait replaces
	// the assumption: fewer make a mean that one long morning moves.
	MinWaitTickets = 30
)

// waitMidpoints are the minutes a ticket in each wait bucket (WaitBucket)
// counts for in the mean: the bucket's middle, and for "60+" its lower
// bound (the mean is then an underestimate, never an overestimate).
var waitMidpoints = map[string]float64{"0-10": 5, "10-20": 15, "20-30": 25, "30-60": 45, "60+": 60}

// MeasuredWait is the mean wait, in minutes, of the tickets counted by
// bucket in n, and how many they are; with fewer than MinWaitTickets (or
// buckets it does not know) it is WaitMinutes, the assumption, and
// measured is false.
func MeasuredWait(n map[string]int64) (minutes float64, tickets int64, measured bool) {
	var sum float64
	for bucket, k := range n {
		mid, ok := waitMidpoints[bucket]
		if !ok || k < 0 {
			return WaitMinutes, 0, false
		}
		sum += mid * float64(k)
		tickets += k
	}
	if tickets < MinWaitTickets {
		return WaitMinutes, tickets, false
	}
	return sum / float64(tickets), tickets, true
}

// Saved is what n applications made online instead of at the desk saved:
// the administration's cost in euro cents and the residents' hours, with
// the counter's wait of waitMinutes.
func Saved(n int64, waitMinutes float64) (cents int64, hours float64) {
	return n * (CostDesk - CostOnline), float64(n) * (float64(TripMinutes) + waitMinutes) / 60
}
