package auth

import (
	"context"
	"time"
)

// Store is what the authentication shares with every worker and host of
// the gateway, kept in the gateway's message store (the embedded SQLite
// database or Redis) so that it holds wherever a request lands. Methods
// are safe for concurrent use.
type Store interface {
	// UseNonce records that app used nonce, remembered for ttl, and
	// reports whether it is the first use (false: a replay).
	UseNonce(ctx context.Context, app, nonce string, now time.Time, ttl time.Duration) (first bool, err error)
	// TakeQuota takes one message from app's quota q: a token of its
	// bucket and one of its day. Nothing is taken when it is refused.
	TakeQuota(ctx context.Context, app string, q Quota, now time.Time) (QuotaResult, error)
	// ReturnQuota gives back a message taken by TakeQuota that was not
	// stored after all (refused by the per-phone limit, a replayed
	// Idempotency-Key, a full queue, a store error).
	ReturnQuota(ctx context.Context, app string, q Quota, now time.Time) error
	// InitSecret stores secret as app's unless it has one, and returns
	// the one it has: the first worker to start creates the default
	// application's secret, the others read it.
	InitSecret(ctx context.Context, app, secret string) (string, error)
}

// QuotaResult is the outcome of Store.TakeQuota.
type QuotaResult struct {
	Allowed bool
	// Limit names the bound that refused: LimitPerSecond or LimitPerDay.
	Limit string
	// RetryAfter is when the next message may be allowed, when refused.
	RetryAfter time.Duration
}

// The quota bounds, as QuotaResult.Limit names them.
const (
	LimitPerSecond = "per_second"
	LimitPerDay    = "per_day"
)

// Day returns the UTC day number of t (days since 1970-01-01), the unit of
// Quota.PerDay, and how long until the next one starts.
func Day(t time.Time) (day int64, untilNext time.Duration) {
	const dayNs = int64(24 * time.Hour)
	ns := t.UnixNano()
	day = ns / dayNs
	return day, time.Duration((day+1)*dayNs - ns)
}
