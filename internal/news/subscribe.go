package news

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/mail"
	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/taxonomy"
	"github.com/civico-pa/civico/internal/throttle"
	tokens "github.com/civico-pa/civico/internal/token"
	"github.com/civico-pa/civico/internal/web"
)

// ConfirmTTL is how long a confirmation link works.
const ConfirmTTL = 48 * time.Hour

// ResendAfter is the least time between two confirmation mails to one
// address: identity's MailEvery, the pace of its reset links, so that the
// form, like registration and reset, sends at most two mails an hour to an
// address whoever asks. A request within it still changes the topics the
// pending link will confirm.
const ResendAfter = identity.MailEvery

// UnsubscribeTTL is how long the unsubscribe link of a digest keeps
// working; each digest brings a new one.
const UnsubscribeTTL = 366 * 24 * time.Hour

// Subscribe asks an address to confirm that it wants the digest of the
// topics (none: every topic), in lang. The answer is the same whether the
// address is new, pending or already subscribed: only its owner, by mail,
// learns which; confirming a link sent to a subscribed address changes its
// topics. Each valid request draws on the budget of mails the asking
// client (its address, client) may cause, shared with registration and
// password reset: a refusal is a problem.Throttled saying how long to
// wait, and changes nothing.
func (s *Service) Subscribe(ctx context.Context, email string, topics []string, lang, client string) error {
	email = identity.NormalizeEmail(email)
	fe := FieldErrors{}
	if !identity.ValidEmail(email) || mail.ValidateAddress(email) != nil {
		fe["email"] = "news.error.email"
	}
	topics = cleanTopics(topics)
	for _, t := range topics {
		if _, ok := taxonomy.Find(taxonomy.Topics, t); !ok {
			fe["topics"] = "news.error.topics"
		}
	}
	if len(fe) > 0 {
		return fe
	}
	if !web.Supported(lang) {
		lang = web.Languages[0]
	}
	town := s.townName(ctx)
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.Limiter.Take(ctx, tx, s.MailBudget(client)); err != nil {
			if refused, ok := errors.AsType[*throttle.Refused](err); ok {
				return &problem.Error{Kind: problem.Throttled, Retry: refused.Wait, Err: refused}
			}
			return err
		}
		now := s.now()
		q := `SELECT id, token_hash IS NOT NULL, token_sent_at FROM news_subscriptions WHERE email = $1` + s.DB.ForUpdate()
		var id string
		var pending bool
		var sent sql.NullTime
		err := tx.QueryRowContext(ctx, q, email).Scan(&id, &pending, &sent)
		if errors.Is(err, sql.ErrNoRows) {
			id = tokens.ID()
			// A concurrent request for the same new address: the unique
			// index decides, and the loser updates the winner's row.
			res, err := tx.ExecContext(ctx, `INSERT INTO news_subscriptions (id, email, topics, pending_topics, lang, created_at)
				VALUES ($1, $2, '', $3, $4, $5) ON CONFLICT (email) DO NOTHING`, id, email, strings.Join(topics, ","), lang, now)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				if err := tx.QueryRowContext(ctx, q, email).Scan(&id, &pending, &sent); err != nil {
					return err
				}
			}
		} else if err != nil {
			return err
		}
		if pending && sent.Valid && now.Sub(sent.Time) < ResendAfter {
			_, err := tx.ExecContext(ctx, `UPDATE news_subscriptions SET pending_topics = $1, lang = $2 WHERE id = $3`, strings.Join(topics, ","), lang, id)
			return err
		}
		token, hash := tokens.New()
		if _, err := tx.ExecContext(ctx, `UPDATE news_subscriptions SET pending_topics = $1, lang = $2, token_hash = $3, token_expires_at = $4,
			token_sent_at = $5 WHERE id = $6`, strings.Join(topics, ","), lang, hash, now.Add(ConfirmTTL), now, id); err != nil {
			return err
		}
		link := s.BaseURL + "/novita/conferma?token=" + token
		_, err = s.Outbox.Enqueue(ctx, tx, mail.Message{To: email,
			Subject: s.t(lang, "news.mail.confirm.subject", "Town", town),
			Text:    s.t(lang, "news.mail.confirm.text", "Town", town, "Link", link, "Hours", int(ConfirmTTL.Hours()))})
		return err
	})
}

// PendingTopics returns the topics a confirmation link would subscribe to
// (empty: every topic), or ErrTokenInvalid.
func (s *Service) PendingTopics(ctx context.Context, token string) ([]string, error) {
	if token == "" || len(token) > 100 {
		return nil, ErrTokenInvalid
	}
	var topics string
	err := s.DB.QueryRowContext(ctx, `SELECT pending_topics FROM news_subscriptions WHERE token_hash = $1 AND token_expires_at > $2`,
		tokens.Hash(token), s.now()).Scan(&topics)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrTokenInvalid
	}
	if err != nil || topics == "" {
		return nil, err
	}
	return strings.Split(topics, ","), nil
}

// Confirm uses a confirmation link: one statement, so two clicks racing on
// it cannot both succeed. The digest covers what is published from now on.
func (s *Service) Confirm(ctx context.Context, token string) error {
	if token == "" || len(token) > 100 {
		return ErrTokenInvalid
	}
	now := s.now()
	res, err := s.DB.ExecContext(ctx, `UPDATE news_subscriptions SET confirmed_at = COALESCE(confirmed_at, $1), topics = pending_topics,
		token_hash = NULL, token_expires_at = NULL WHERE token_hash = $2 AND token_expires_at > $1`, now, tokens.Hash(token))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return ErrTokenInvalid
	}
	return nil
}

// CanUnsubscribe reports whether an unsubscribe link still works.
func (s *Service) CanUnsubscribe(ctx context.Context, token string) (bool, error) {
	if token == "" || len(token) > 100 {
		return false, nil
	}
	var n int
	err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM news_unsubscribe_tokens WHERE hash = $1 AND created_at > $2`,
		tokens.Hash(token), s.now().Add(-UnsubscribeTTL)).Scan(&n)
	return n > 0, err
}

// Unsubscribe uses the unsubscribe link of a digest: the subscription and
// its address are deleted.
func (s *Service) Unsubscribe(ctx context.Context, token string) error {
	if token == "" || len(token) > 100 {
		return ErrTokenInvalid
	}
	res, err := s.DB.ExecContext(ctx, `DELETE FROM news_subscriptions WHERE id IN
		(SELECT subscription_id FROM news_unsubscribe_tokens WHERE hash = $1 AND created_at > $2)`, tokens.Hash(token), s.now().Add(-UnsubscribeTTL))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return ErrTokenInvalid
	}
	return nil
}
