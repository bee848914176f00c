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
	// WaitMinutes is the wait at the counter an online application avoids:
	// 20 minutes, the dashboard's assumption until the queue (package
	// booking) hands over its measured waits, which it records per ticket
	// but does not yet give the dashboard.
	WaitMinutes = 20
)

// Saved is what n applications made online instead of at the desk saved:
// the administration's cost in euro cents and the residents' hours.
func Saved(n int64) (cents int64, hours float64) {
	return n * (CostDesk - CostOnline), float64(n) * float64(TripMinutes+WaitMinutes) / 60
}
