package main

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
)

// Findings of an outside attacker's review of identity and throttling,
// after the issue "Trust before transactions". Each test failed before the
// change that came with it.

// The news subscription form sent a confirmation mail to any address for
// any anonymous client, with no budget at all: 300 mails in 11 s from one
// client against the demo, while the registration and reset forms allow
// ten an hour. Every form that mails an address a stranger typed now draws
// on the same budget of the asking client.
func TestAttack_NewsSubscriptionMailsAnyone(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		spammer := s.browser(t, nil)
		spammer.from = "203.0.113.80"
		answers := map[int]int{}
		for i := range 15 {
			res, _ := spammer.do("POST", s.plain.URL+"/novita/iscriviti", url.Values{"email": {fmt.Sprintf("target%d@example.org", i)}})
			answers[res.StatusCode]++
			if res.StatusCode == http.StatusTooManyRequests && res.Header.Get("Retry-After") == "" {
				t.Error("a refused subscription says nothing of when to try again")
			}
		}
		if answers[http.StatusOK] != 10 || answers[http.StatusTooManyRequests] != 5 {
			t.Errorf("one client asked 15 subscription mails: %v, want 10 sent and 5 refused", answers)
		}
		if n := s.count(t, "mail_outbox"); n != 10 {
			t.Errorf("%d mails queued, want 10", n)
		}
		// One budget for every form that mails a typed address: a client
		// that spent part of it on registrations has the rest for news.
		other := s.browser(t, nil)
		other.from = "203.0.113.81"
		for i := range 6 {
			if res, _ := other.do("POST", s.plain.URL+"/registrati", url.Values{"email": {fmt.Sprintf("reg%d@example.org", i)}, "privacy": {"1"}}); res.StatusCode != http.StatusOK {
				t.Fatalf("registration %d: %d", i, res.StatusCode)
			}
		}
		sent := 0
		for i := range 6 {
			if res, _ := other.do("POST", s.plain.URL+"/novita/iscriviti", url.Values{"email": {fmt.Sprintf("news%d@example.org", i)}}); res.StatusCode == http.StatusOK {
				sent++
			}
		}
		if sent != 4 {
			t.Errorf("after 6 registration mails the client got %d subscription mails, want the 4 left of 10", sent)
		}
	})
}
