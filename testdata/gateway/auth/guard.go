package auth

import (
	"bytes"
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"
)

// MaxSkew is how far a request's Timestamp may be from the gateway's clock,
// either way.
const MaxSkew = 5 * time.Minute

// NonceTTL is how long a nonce is remembered: a request is accepted while
// its timestamp is within MaxSkew, so a nonce first seen at any moment of
// that window must be remembered until the window of its timestamp has
// passed (2 MaxSkew), plus a minute for clocks of hosts sharing the store.
const NonceTTL = 2*MaxSkew + time.Minute

// storeTimeout bounds the store's part of one authentication or quota.
const storeTimeout = 3 * time.Second

// Counter receives the authentication's metrics (sms.Metrics fits).
type Counter interface{ Add(name string, n float64) }

// Options configure a Guard.
type Options struct {
	// Apps are the applications allowed to call. Empty: the default
	// application, bootstrapped through Store (see NewGuard).
	Apps []App
	// DataDir is where the default application's secret file is written.
	DataDir string
	Store   Store
	Log     *slog.Logger
	Metrics Counter          // may be nil
	Now     func() time.Time // default time.Now
	// MaxBodyBytes bounds a body read for its hash; a longer one is 413.
	MaxBodyBytes int64
}

// Guard authenticates every /api/sms/* request (the receipt pushes of
// /api/sms/receipts/*, which carry their own token, excepted) before it
// reaches the API, decides whether the caller may send a message
// (Admit: its templates and quotas) and writes the audit log.
type Guard struct {
	apps    map[string]*App
	store   Store
	log     *slog.Logger
	metrics Counter
	now     func() time.Time
	maxBody int64
}

// NewGuard returns a Guard over o.Apps. With no application configured it
// creates the default one: the first worker to start stores a new secret
// (Store.InitSecret), every worker writes it to DefaultSecretFile(o.DataDir)
// (mode 0600) when the file does not hold it, and logs the file's path.
func NewGuard(ctx context.Context, o Options) (*Guard, error) {
	g := &Guard{apps: map[string]*App{}, store: o.Store, log: o.Log, metrics: o.Metrics, now: o.Now, maxBody: o.MaxBodyBytes}
	if g.now == nil {
		g.now = time.Now
	}
	if g.metrics == nil {
		g.metrics = noCounter{}
	}
	if o.Store == nil {
		return nil, errors.New("auth: no store for nonces and quotas")
	}
	apps := o.Apps
	if len(apps) == 0 {
		if o.DataDir == "" {
			return nil, errNoApps
		}
		app, path, created, err := bootstrapDefault(ctx, o.Store, o.DataDir)
		if err != nil {
			return nil, err
		}
		verb := "uses"
		if created {
			verb = "created"
		}
		g.log.Info("auth: no applications configured (-apps); "+verb+" application "+DefaultAppID+", its secret is in "+path, "app", DefaultAppID, "secret_file", path)
		apps = []App{app}
	} else {
		ids := make([]string, len(apps))
		for i, a := range apps {
			ids[i] = a.ID
		}
		g.log.Info("auth: applications: "+strings.Join(ids, ", "), "count", len(apps))
	}
	for i := range apps {
		a := apps[i]
		if _, dup := g.apps[a.ID]; dup {
			return nil, fmt.Errorf("auth: application %s listed twice", a.ID)
		}
		g.apps[a.ID] = &a
	}
	return g, nil
}

// Refusal is an answer other than the API's own: an unauthenticated call
// (401), a forbidden template (403), an exceeded quota (429), a body too
// long to hash (413), the store unreachable (503).
type Refusal struct {
	Status     int
	Reason     string // a short code for the audit log: bad_signature, quota_per_day…
	Message    string // the reply's error text
	Field      string // the reply's field: the header or request field at fault
	RetryAfter time.Duration
}

func (r *Refusal) Error() string { return r.Message }

func unauthorized(reason, msg string) *Refusal {
	return &Refusal{Status: http.StatusUnauthorized, Reason: reason, Message: msg, Field: HeaderAuthorization}
}

// protected reports whether r needs a signature: every /api/sms/* path
// but the providers' receipt pushes.
func protected(r *http.Request) bool {
	p := path.Clean("/" + r.URL.Path)
	return (p == "/api/sms" || strings.HasPrefix(p, "/api/sms/")) && !strings.HasPrefix(p, "/api/sms/receipts/")
}

// caller is the authenticated application of a request, in its context.
type caller struct {
	app    *App
	key    string
	reason string // set by Admit when it refuses, for the audit
}

type callerKey struct{}

// Protect wraps the API: requests to protected paths are authenticated
// first and refused with a JSON error when they fail; every call is
// audited once answered.
func (g *Guard) Protect(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !protected(r) {
			next.ServeHTTP(w, r)
			return
		}
		rec := &recorder{ResponseWriter: w}
		c, claimed, ref := g.authenticate(r)
		if ref != nil {
			writeRefusal(rec, ref)
		} else {
			r = r.WithContext(context.WithValue(r.Context(), callerKey{}, c))
			next.ServeHTTP(rec, r)
		}
		g.audit(r, c, claimed, ref, rec)
	})
}

// authenticate checks r's signature and nonce and returns its caller, or
// the refusal; claimed is the application id the request names, if any.
func (g *Guard) authenticate(r *http.Request) (c *caller, claimed string, ref *Refusal) {
	cred, err := ParseAuthorization(r.Header.Get(HeaderAuthorization))
	if errors.Is(err, ErrNoAuthorization) {
		return nil, "", unauthorized("missing_authorization", "missing Authorization header: sign the request ("+Scheme+", see the README)")
	}
	if err != nil {
		return nil, "", unauthorized("malformed_authorization", err.Error())
	}
	app := g.apps[cred.App]
	if app == nil {
		return nil, cred.App, unauthorized("unknown_application", "unknown application "+cred.App)
	}
	now := g.now()
	if d := now.Sub(cred.Timestamp); d > MaxSkew || d < -MaxSkew {
		return nil, cred.App, unauthorized("stale_timestamp", fmt.Sprintf("Timestamp %d is more than %v from the gateway's clock (%d)", cred.Timestamp.Unix(), MaxSkew, now.Unix()))
	}
	body, ref := g.readBody(r)
	if ref != nil {
		return nil, cred.App, ref
	}
	req := RequestOf(r, body)
	var key string
	for _, k := range app.Keys {
		if hmac.Equal(Sign([]byte(k.Secret.Reveal()), app.ID, cred.Timestamp.Unix(), cred.Nonce, req), cred.Signature) {
			key = k.Name
			break
		}
	}
	if key == "" {
		return nil, cred.App, unauthorized("bad_signature", "signature does not match the request: sign method, path, timestamp, nonce and body hash with the application's secret")
	}
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	first, err := g.store.UseNonce(ctx, app.ID, cred.Nonce, now, NonceTTL)
	if err != nil {
		g.log.Warn("auth: store unavailable: nonce not checked (answered 503)", "err", err)
		return nil, cred.App, &Refusal{Status: http.StatusServiceUnavailable, Reason: "store_unavailable", Message: "message store unavailable: retry later", RetryAfter: time.Second}
	}
	if !first {
		return nil, cred.App, unauthorized("replayed_nonce", "Nonce already used: sign every request with a fresh nonce")
	}
	return &caller{app: app, key: key}, cred.App, nil
}

// readBody reads r's body (at most maxBody bytes) for its hash and puts it
// back for the handler.
func (g *Guard) readBody(r *http.Request) ([]byte, *Refusal) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, g.maxBody+1))
	r.Body.Close()
	if err != nil {
		return nil, &Refusal{Status: http.StatusBadRequest, Reason: "unreadable_body", Message: "request body: " + err.Error()}
	}
	if int64(len(body)) > g.maxBody {
		return nil, &Refusal{Status: http.StatusRequestEntityTooLarge, Reason: "body_too_large", Message: fmt.Sprintf("request body over %d bytes", g.maxBody)}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body, nil
}

// Ticket is an admitted message's hold on its application's quota.
type Ticket struct {
	g   *Guard
	app *App
}

// Done reports whether the admitted message was stored: a message that
// was not (per-phone limit, replayed Idempotency-Key, full queue, store
// error) gives its quota back. A nil Ticket does nothing.
func (t *Ticket) Done(stored bool) {
	if t == nil || stored {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if err := t.g.store.ReturnQuota(ctx, t.app.ID, t.app.Quota, t.g.now()); err != nil {
		t.g.log.Warn("auth: quota not given back", "app", t.app.ID, "err", err)
	}
}

// Admit decides whether the caller of ctx (a request Protect let through)
// may send a message with template ("" for free text): 403 for a template
// or free text its application may not use, 429 when its quota is spent.
// An admitted message's Ticket must be told whether it was stored.
func (g *Guard) Admit(ctx context.Context, template string) (*Ticket, *Refusal) {
	c, ok := ctx.Value(callerKey{}).(*caller)
	if !ok {
		return nil, &Refusal{Status: http.StatusUnauthorized, Reason: "unauthenticated", Message: "request not authenticated", Field: HeaderAuthorization}
	}
	if !c.app.Allows(template) {
		c.reason = "template_not_allowed"
		if template == "" {
			c.reason = "free_text_not_allowed"
			return nil, &Refusal{Status: http.StatusForbidden, Reason: c.reason, Message: "application " + c.app.ID + " may not send free text", Field: "content"}
		}
		return nil, &Refusal{Status: http.StatusForbidden, Reason: c.reason, Message: "application " + c.app.ID + " may not use template " + template, Field: "template"}
	}
	q := c.app.Quota
	if q.IsZero() {
		return nil, nil
	}
	sctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	res, err := g.store.TakeQuota(sctx, c.app.ID, q, g.now())
	if err != nil {
		c.reason = "store_unavailable"
		g.log.Warn("auth: store unavailable: quota not checked (answered 503)", "app", c.app.ID, "err", err)
		return nil, &Refusal{Status: http.StatusServiceUnavailable, Reason: c.reason, Message: "message store unavailable: retry later", RetryAfter: time.Second}
	}
	if !res.Allowed {
		c.reason = "quota_" + res.Limit
		g.metrics.Add(appMetric(c.app.ID, "quotaRefused"), 1)
		msg := fmt.Sprintf("quota of application %s: at most %d messages per UTC day", c.app.ID, q.PerDay)
		if res.Limit == LimitPerSecond {
			msg = fmt.Sprintf("quota of application %s: at most %g messages per second (burst %d)", c.app.ID, q.PerSecond, q.Burst)
		}
		return nil, &Refusal{Status: http.StatusTooManyRequests, Reason: c.reason, Message: msg, RetryAfter: res.RetryAfter}
	}
	return &Ticket{g: g, app: c.app}, nil
}

type noCounter struct{}

func (noCounter) Add(string, float64) {}
