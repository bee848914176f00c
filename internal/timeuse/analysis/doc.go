// Package analysis is the time-use survey's analysis engine: the HETUS
// activity coding list, the anonymous dataset format (respondents.csv,
// diaries.csv, episodes.csv), the indicators by target group with
// standard errors and disclosure control, and the reachability of
// offices in each group's free time. It is pure Go: no database, no other
// civico feature package; civico's survey exports into its format and
// `civico timeuse analyze` reads it, from civico or from another survey.
//
// # Groups
//
// A target group fixes any subset of the five keys sex, age_band,
// employment, commuter and children (every one of the 32 subsets, the
// empty one being "all") to values: 3×9×8×3×5 = 3,240 groups. A group's
// name is "all" or key=value pairs joined by "&" in that key order.
//
// # Indicators
//
// For each group, day type (weekday, saturday, sunday) and 1- or 2-digit
// activity k, with w_i the diary weight and t_ik the diary's minutes in k
// (a 3-digit code counts for its 1- and 2-digit parents):
//
//	DPR = Σ w_i t_ik / Σ w_i                 mean minutes per respondent
//	P   = Σ w_i [t_ik > 0] / Σ w_i           participation rate
//	DPP = Σ w_i t_ik / Σ_{t_ik>0} w_i        mean minutes per participant
//
// so DPR = DPP × P. The average week ("week") is 5/7 of the weekday mean,
// 1/7 of Saturday's and 1/7 of Sunday's, for DPR and P; its DPP is
// DPR/P. A group has a week only when it has diaries of all three types.
//
// Tempograms: for each of the 144 ten-minute slots from 04:00, the share
// of the group doing each 1-digit activity, weighted; an episode covering
// part of a slot counts for its minutes (slot shares are Σ w_i m_ik(s)/10
// / Σ w_i with m_ik(s) the minutes of slot s in k), so each slot's shares
// sum to 1 exactly; on ten-minute episodes this is HETUS's definition.
//
// # Standard errors
//
// DPR is a ratio estimator; its variance is estimated by linearisation
// (Taylor), with respondents as clusters (a respondent's diaries of one
// day type are not independent) in a single stratum, with replacement:
//
//	z_j = Σ_{i∈j} w_i (t_ik − DPR),   Var(DPR) = n/(n−1) Σ_j z_j² / (Σ_i w_i)²
//
// n the respondents with a diary of that type. For the week, z_j is the
// 5/7, 1/7, 1/7 combination of the respondent's three z_j^d / Σ w^d, so a
// respondent's weekday and weekend diaries covary. CV = SE/DPR. The
// sums are accumulated once per finest cell and added up to every group.
//
// # Weights
//
// The indicators use the diary weights as given. PostStratify calibrates
// them to the town's population margins by raking (see its doc).
//
// # Disclosure control
//
// A cell (a group on a day type) with fewer than MinCell respondents
// (default 10) is suppressed (primary suppression), and secondary
// suppression hides further cells until no additive relation (a group
// and its children over one key; the week and its three day types) has a
// single hidden cell (see suppress). Suppressed cells have no estimates
// and no tempogram. Estimates of published cells are flagged (use with
// caution) above a CV of 16.6% and suppressed above 33.3%: Statistics
// Canada's time-use thresholds (reference/hetus.md). Respondent counts are
// always shown: they are sample sizes, not answers.
//
// # Reachability
//
// On weekday diaries, a person is unavailable while asleep, working,
// studying at school or university, caring for a child or an adult of the
// household, or travelling (Unavailable lists the codes). A diary reaches
// an office when some free stretch holds the travel there, MinFree (30)
// minutes inside an opening, and the travel back. Recommend tries every
// extra two-hour weekday opening at every office and keeps the one that
// maximises the lowest group share, then the next lowest (leximin), then
// everyone's share.
package analysis
