package sms

import (
	"fmt"
	"time"
)

// rateLimit is the per-phone limit in force: perPhone messages per window.
type rateLimit struct {
	perPhone int
	window   time.Duration
}

// SetRateLimit changes the per-phone rate limit of a running gateway (a
// config reload): sends accepted from now on are judged by it. Errors: a
// limit or window that is not positive.
func (g *Gateway) SetRateLimit(perPhone int, window time.Duration) error {
	if perPhone <= 0 || window <= 0 {
		return fmt.Errorf("sms: rate limit %d per %v: both must be positive", perPhone, window)
	}
	g.limit.Store(&rateLimit{perPhone: perPhone, window: window})
	return nil
}

// rateLimit returns the limit in force: the last SetRateLimit, else the
// Config's.
func (g *Gateway) rateLimit() rateLimit {
	if l := g.limit.Load(); l != nil {
		return *l
	}
	return rateLimit{perPhone: g.cfg.RateLimit, window: g.cfg.RateWindow}
}
