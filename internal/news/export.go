package news

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
)

// Subscription is a person's subscription to the news, for the download of
// their data.
type Subscription struct {
	Topics      []string   `json:"topics"`
	Language    string     `json:"language"`
	Confirmed   *time.Time `json:"confirmed_at,omitempty"`
	Created     time.Time  `json:"created_at"`
	LastDigest  *time.Time `json:"last_digest_at,omitempty"`
	Unconfirmed []string   `json:"topics_awaiting_confirmation,omitempty"`
}

// Export is the subscription of an address (nil when there is none).
func (s *Service) Export(ctx context.Context, email string) (*Subscription, error) {
	if email == "" {
		return nil, nil
	}
	var sub Subscription
	var topics, pending string
	var confirmed, last sql.NullTime
	err := s.DB.QueryRowContext(ctx, `SELECT topics, pending_topics, lang, confirmed_at, created_at, last_digest_at FROM news_subscriptions WHERE email = $1`, email).
		Scan(&topics, &pending, &sub.Language, &confirmed, &sub.Created, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	split := func(s string) []string {
		if s == "" {
			return []string{}
		}
		return strings.Split(s, ",")
	}
	sub.Topics, sub.Unconfirmed = split(topics), split(pending)
	if confirmed.Valid {
		sub.Confirmed = &confirmed.Time
	}
	if last.Valid {
		sub.LastDigest = &last.Time
	}
	return &sub, nil
}
