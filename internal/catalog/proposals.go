package catalog

import (
	"context"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/hours"
)

// HoursProposals are the extra openings the time-use survey's published
// results propose for the offices (cmd/civico joins them to the survey):
// by office id, their groups named in lang, with the version of the
// results they come from ("" when none are published).
type HoursProposals func(ctx context.Context, lang string) (string, map[string]HoursProposal, error)

// HoursProposal is one office's proposal: an extra weekly opening, and
// how much more of the residents' groups would reach an office with it.
type HoursProposal struct {
	Weekday  time.Weekday
	From, To hours.Clock
	// LeastServed is the least-served group; shares are 0-1, of a group's
	// weekdays with a window to reach an office.
	LeastServed                              string
	MinBefore, MinAfter, AllBefore, AllAfter float64
	// Gains are the groups it reaches more of, most first.
	Gains []HoursGain
}

// HoursGain is a group a proposal reaches more of.
type HoursGain struct {
	Group         string
	Respondents   int
	Before, After float64
}

// ProposalRow is a proposal as the coordination view shows it.
type ProposalRow struct {
	Office                                   *Office
	Weekday                                  time.Weekday
	Opening                                  string
	LeastServed                              string
	MinBefore, MinAfter, AllBefore, AllAfter string
	Gains                                    []GainRow
	// Try is the coordination view with the office's week and the extra
	// opening as its proposal.
	Try string
}

// GainRow is a group a proposal reaches more of.
type GainRow struct {
	Group, Before, After string
	Respondents          int
}

// MaxGains is how many groups a proposal's row names.
const MaxGains = 3

func share(lang string, x float64) string {
	s := strconv.FormatFloat(100*x, 'f', 1, 64)
	if lang != "en" {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s + "%"
}

// proposalRows are the proposals for the offices shown, in their order.
func proposalRows(lang string, offices []*Office, byOffice map[string]HoursProposal, category string, week hours.Date) []ProposalRow {
	var out []ProposalRow
	for _, o := range offices {
		p, ok := byOffice[o.ID]
		if !ok {
			continue
		}
		row := ProposalRow{Office: o, Weekday: p.Weekday, Opening: hours.Interval{Start: p.From, End: p.To}.String(), LeastServed: p.LeastServed,
			MinBefore: share(lang, p.MinBefore), MinAfter: share(lang, p.MinAfter), AllBefore: share(lang, p.AllBefore), AllAfter: share(lang, p.AllAfter)}
		for i, g := range p.Gains {
			if i == MaxGains {
				break
			}
			row.Gains = append(row.Gains, GainRow{Group: g.Group, Respondents: g.Respondents, Before: share(lang, g.Before), After: share(lang, g.After)})
		}
		row.Try = tryLink(o, p, category, week)
		out = append(out, row)
	}
	return out
}

// tryLink is the coordination view's query with the office's ordinary
// week and the extra opening added on its weekday (merged with an
// opening it overlaps or touches).
func tryLink(o *Office, p HoursProposal, category string, week hours.Date) string {
	q := url.Values{"categoria": {category}, "settimana": {week.String()}, "ufficio": {o.ID}}
	for _, f := range Weekdays {
		var ivs []hours.Interval
		for name, list := range o.Spec.Week {
			if !strings.EqualFold(name, f.Name) {
				continue
			}
			for _, s := range list {
				if iv, err := hours.ParseInterval(s); err == nil {
					ivs = append(ivs, iv)
				}
			}
		}
		if f.Day == p.Weekday {
			ivs = append(ivs, hours.Interval{Start: p.From, End: p.To})
		}
		if len(ivs) == 0 {
			continue
		}
		sort.Slice(ivs, func(a, b int) bool { return ivs[a].Start < ivs[b].Start })
		merged := ivs[:1]
		for _, iv := range ivs[1:] {
			last := &merged[len(merged)-1]
			if iv.Start <= last.End {
				last.End = max(last.End, iv.End)
				continue
			}
			merged = append(merged, iv)
		}
		parts := make([]string, len(merged))
		for i, iv := range merged {
			parts[i] = iv.String()
		}
		q.Set(f.Name, strings.Join(parts, ", "))
	}
	return "/coordinamento-orari?" + q.Encode() + "#proposta"
}
