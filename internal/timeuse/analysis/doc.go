// Package analysis is the time-use survey's analysis engine: the HETUS
// activity coding list, the anonymous dataset format (respondents.csv,
// diaries.csv, episodes.csv), the indicators by target group (DPR, P, DPP,
// tempograms, average week) with standard errors and disclosure control,
// and the reachability of offices in each group's free time. It is pure
// Go: no database, no other civico feature package.
package analysis
