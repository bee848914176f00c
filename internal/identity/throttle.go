package identity

import (
	"context"
	"database/sql"
	"time"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/throttle"
)

// Limits are the budgets that keep guessing, flooding and mail bombing
// cheap to refuse. Each is a setting (see the README); the defaults are
// DefaultLimits.
type Limits struct {
	// PairAttempts: wrong passwords for one account from one client
	// address before that pair is locked out for Lock (after three free
	// attempts each waits twice as long as the one before).
	PairAttempts int
	// ClientAttempts: wrong passwords from one client address, whatever
	// the accounts, before the address is locked out.
	ClientAttempts int
	// AccountAttempts: wrong passwords for one account from anywhere
	// before browsers that never logged into it are locked out for Lock.
	// Its owner, in a browser where they logged in before, is not.
	AccountAttempts int
	// Lock is how long a lockout lasts.
	Lock time.Duration
	// MailsPerClient: mails (registration and reset links) one client
	// address may cause in an hour.
	MailsPerClient int
	// CodeAttempts: wrong one-time codes an operator may type against one
	// pending login before it ends and the password is asked again.
	CodeAttempts int
	// CardLogins: card logins one fiscal code may make in an hour (each is
	// a session and an audit entry).
	CardLogins int
}

// DefaultLimits are the documented defaults.
func DefaultLimits() Limits {
	return Limits{PairAttempts: 10, ClientAttempts: 100, AccountAttempts: 50, Lock: 15 * time.Minute,
		MailsPerClient: 10, CodeAttempts: 3, CardLogins: 30}
}

// freeAttempts go ahead without delay within a window.
const freeAttempts = 3

func (l Limits) backoff(lockAt int) throttle.Rule {
	return throttle.Rule{Free: freeAttempts, Window: l.Lock, Backoff: true, MaxDelay: 5 * time.Minute, LockAt: lockAt, LockFor: l.Lock}
}

// loginKeys are the budgets one password attempt draws on: the account
// from this address, this address, and (unless the browser logged into the
// account before) the account from anywhere. The keys name the address
// typed, whether or not an account has it, so the answers reveal nothing.
func (s *Service) loginKeys(email, addr string, trusted bool) []throttle.Key {
	l := s.Limits
	keys := []throttle.Key{
		throttle.ClientKey("login:pair:"+email+"|", addr, "", l.backoff(l.PairAttempts)),
		throttle.ClientKey("login:client:", addr, "", throttle.Rule{Free: 20, Window: l.Lock, Backoff: true, MaxDelay: 5 * time.Minute, LockAt: l.ClientAttempts, LockFor: l.Lock}),
	}
	if !trusted {
		keys = append(keys, throttle.Key{Name: "login:account:" + email, Rule: throttle.Rule{Free: l.AccountAttempts, Window: l.Lock}})
	}
	return keys
}

// codeKey is the budget of one-time codes of an operator's account.
func (s *Service) codeKey(accountID string) throttle.Key {
	return throttle.Key{Name: "login:code:" + accountID, Rule: s.Limits.backoff(s.Limits.PairAttempts)}
}

// refusalsPerClient bounds the refusals a client's requests write into the
// audit log in an hour: beyond it they are refused all the same, and only
// counted in the process log, so nobody can grow the audit log at will.
const refusalsPerClient = 60

// auditRefusal records a refused attempt (a wrong password, a wait, a
// refused card) in the audit log while the client's budget of such entries
// lasts.
func (s *Service) auditRefusal(ctx context.Context, e audit.Entry) {
	err := s.Limiter.Take(ctx, nil, throttle.ClientKey("audit:refusals:", e.Remote, "", throttle.Rule{Free: refusalsPerClient, Window: time.Hour}))
	if err != nil {
		return
	}
	_ = s.Audit.Write(ctx, nil, e)
}

// mailKey is the budget of mails a client may ask for.
func (s *Service) mailKey(addr string) throttle.Key {
	return throttle.ClientKey("mail:client:", addr, "", throttle.Rule{Free: s.Limits.MailsPerClient, Window: time.Hour})
}

// MailBudget is the budget of mails to typed addresses the client at addr
// may ask for (MailsPerClient an hour): one budget for every form that
// mails an address a visitor typed (registration, reset, the news
// subscription), so that together they send no more.
func (s *Service) MailBudget(addr string) throttle.Key { return s.mailKey(addr) }

// succeeded settles the budgets of a login attempt that turned out right:
// the attempt, counted as a failure while the password was checked, is
// given back to the shared budgets (and to the /48's), and the account's
// own from this address starts afresh. The account's budget from anywhere
// is not reset: the owner logging in must not hand strangers a fresh set
// of guesses.
func (s *Service) succeeded(ctx context.Context, tx *sql.Tx, keys []throttle.Key) error {
	if err := s.Limiter.Give(ctx, tx, keys...); err != nil {
		return err
	}
	return s.Limiter.Reset(ctx, tx, keys[0].Name)
}
