package auth_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/testdata/gateway/auth"
	"github.com/nodeagent/node-agent/testdata/gateway/sms"
)

// The guard is tested in front of the real gateway handler over the real
// embedded store, as the gateway runs it.

const (
	shopSecret = "shop-secret-0123456789abcdef"
	nextSecret = "shop-next-secret-fedcba9876543210"
)

// writeFile writes a file of mode perm in dir and returns its path.
func writeFile(t testing.TB, dir, name, data string, perm os.FileMode) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(data), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil {
		t.Fatal(err)
	}
	return path
}

// loadApps writes an applications file (and the shop's secret files) and
// loads it.
func loadApps(t *testing.T, dir, text string) []auth.App {
	t.Helper()
	writeFile(t, dir, "shop.key", shopSecret+"\n", 0o600)
	writeFile(t, dir, "shop.key.next", nextSecret, 0o600)
	apps, err := auth.LoadApps(writeFile(t, dir, "apps.toml", text, 0o644), templateNames())
	if err != nil {
		t.Fatal(err)
	}
	return apps
}

func templateNames() []string {
	var names []string
	for n := range sms.BuiltinTemplates() {
		names = append(names, n)
	}
	return names
}

const shopApps = `
[app.shop]
secret_files = ["shop.key"]
templates = ["verify_code"]

[app.bulk]
secret_files = ["shop.key.next"]
templates = ["*"]
free_text = true
per_second = 2
burst = 3
per_day = 5
`

// logSink keeps the gateway's log records.
type logSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logSink) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// audits returns the audit records logged so far, as JSON objects.
func (l *logSink) audits(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["msg"] == "audit" {
			out = append(out, rec)
		}
	}
	return out
}

type counters struct {
	mu sync.Mutex
	m  map[string]float64
}

func (c *counters) Add(name string, n float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]float64{}
	}
	c.m[name] += n
}

func (c *counters) Observe(string, float64) {}

func (c *counters) get(name string) float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[name]
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// testGateway is a gateway with authentication over one SQLite file.
type testGateway struct {
	h       http.Handler
	log     *logSink
	metrics *counters
	clock   *clock
}

func newGateway(t *testing.T, dbDir string, apps []auth.App) *testGateway {
	t.Helper()
	st, err := sms.OpenSQLite(filepath.Join(dbDir, sms.SQLiteFile))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tg := &testGateway{log: &logSink{}, metrics: &counters{}, clock: &clock{t: time.Now()}}
	log := slog.New(slog.NewJSONHandler(tg.log, nil))
	g, err := sms.New(sms.Config{DataDir: dbDir}, log, sms.Hooks{Store: st, Auth: &auth.Options{Apps: apps}, Metrics: tg.metrics, Now: tg.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	tg.h = g.Handler()
	return tg
}

// signedByHand returns the Authorization header of a request, its string
// to sign written out here and signed with crypto/hmac.
func signedByHand(app, secret string, ts int64, nonce, method, target, body string) string {
	sts := strings.Join([]string{"SMS-HMAC-SHA256", app, strconv.FormatInt(ts, 10), nonce, method, target, sha256Hex(body)}, "\n")
	return fmt.Sprintf("SMS-HMAC-SHA256 Credential=%s, Timestamp=%d, Nonce=%s, Signature=%s", app, ts, nonce, hmacHex(secret, sts))
}

var nonces struct {
	mu sync.Mutex
	n  int
}

func freshNonce() string {
	nonces.mu.Lock()
	defer nonces.mu.Unlock()
	nonces.n++
	return fmt.Sprintf("test-nonce-%08d", nonces.n)
}

// do sends one request with the given Authorization header ("" for none).
func (tg *testGateway) do(method, target, body, authz string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	rec := httptest.NewRecorder()
	tg.h.ServeHTTP(rec, req)
	return rec
}

// send posts body signed by app with secret, now.
func (tg *testGateway) send(app, secret, body string) *httptest.ResponseRecorder {
	return tg.do("POST", "/api/sms/send", body, signedByHand(app, secret, tg.clock.Now().Unix(), freshNonce(), "POST", "/api/sms/send", body))
}

func verifyBody(phone string) string {
	return `{"phone":"` + phone + `","template":"verify_code","params":{"code":"4711"}}`
}

func wantStatus(t *testing.T, rec *httptest.ResponseRecorder, status int, errPart string) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d: %s", rec.Code, status, rec.Body)
	}
	var e struct{ Error string }
	if errPart != "" {
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || !strings.Contains(e.Error, errPart) {
			t.Fatalf("reply %s, want a JSON error containing %q", rec.Body, errPart)
		}
	}
}

func TestSignedRequests(t *testing.T) {
	dir := t.TempDir()
	tg := newGateway(t, dir, loadApps(t, dir, shopApps))
	now := tg.clock.Now().Unix()
	body := verifyBody("+4915112345678")

	// A request signed independently of the code under test is accepted.
	rec := tg.do("POST", "/api/sms/send", body, signedByHand("shop", shopSecret, now, "independent-nonce-1", "POST", "/api/sms/send", body))
	wantStatus(t, rec, http.StatusAccepted, "")
	var reply sms.SendReply
	json.Unmarshal(rec.Body.Bytes(), &reply)
	// And so is a read of its record, signed the same way.
	target := "/api/sms/" + reply.ID
	wantStatus(t, tg.do("GET", target, "", signedByHand("shop", shopSecret, now, "independent-nonce-2", "GET", target, "")), http.StatusOK, "")

	cases := []struct {
		name, authz, body string
		want              string
	}{
		{"no header", "", body, "missing Authorization header"},
		{"tampered body", signedByHand("shop", shopSecret, now, freshNonce(), "POST", "/api/sms/send", body), verifyBody("+4915199999999"), "signature does not match"},
		{"wrong secret", signedByHand("shop", nextSecret, now, freshNonce(), "POST", "/api/sms/send", body), body, "signature does not match"},
		{"other path", signedByHand("shop", shopSecret, now, freshNonce(), "POST", "/api/sms/other", body), body, "signature does not match"},
		{"other method", signedByHand("shop", shopSecret, now, freshNonce(), "PUT", "/api/sms/send", body), body, "signature does not match"},
		{"other application", signedByHand("bulk", shopSecret, now, freshNonce(), "POST", "/api/sms/send", body), body, "signature does not match"},
		{"unknown application", signedByHand("nobody", shopSecret, now, freshNonce(), "POST", "/api/sms/send", body), body, "unknown application nobody"},
		{"old timestamp", signedByHand("shop", shopSecret, now-301, freshNonce(), "POST", "/api/sms/send", body), body, "more than 5m0s from the gateway's clock"},
		{"future timestamp", signedByHand("shop", shopSecret, now+301, freshNonce(), "POST", "/api/sms/send", body), body, "more than 5m0s from the gateway's clock"},
		{"replayed nonce", signedByHand("shop", shopSecret, now, "independent-nonce-1", "POST", "/api/sms/send", body), body, "Nonce already used"},
		{"malformed", "SMS-HMAC-SHA256 Credential=shop", body, "malformed Authorization header"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := tg.do("POST", "/api/sms/send", c.body, c.authz)
			wantStatus(t, rec, http.StatusUnauthorized, c.want)
			if rec.Header().Get("WWW-Authenticate") != auth.Scheme || rec.Header().Get(sms.HeaderWorkerID) == "" {
				t.Fatalf("headers %v", rec.Header())
			}
		})
	}
	// A timestamp just inside the window is fine.
	wantStatus(t, tg.do("POST", "/api/sms/send", body, signedByHand("shop", shopSecret, now-299, freshNonce(), "POST", "/api/sms/send", body)), http.StatusAccepted, "")

	// Audit: one record per call but the read; the secret and the text never appear.
	audits := tg.log.audits(t)
	if len(audits) != 2+len(cases) {
		t.Fatalf("%d audit records, want %d:\n%s", len(audits), 2+len(cases), tg.log)
	}
	if a := audits[0]; a["app"] != "shop" || a["outcome"] != "accepted" || a["id"] != reply.ID || a["key"] != "shop.key" {
		t.Fatalf("first audit record %v", a)
	}
	reasons := map[string]bool{}
	for _, a := range audits[1 : len(audits)-1] {
		if a["outcome"] != "rejected" || a["status"] != float64(401) {
			t.Fatalf("audit record %v", a)
		}
		reasons[a["reason"].(string)] = true
	}
	for _, r := range []string{"missing_authorization", "bad_signature", "unknown_application", "stale_timestamp", "replayed_nonce", "malformed_authorization"} {
		if !reasons[r] {
			t.Errorf("no audit record with reason %s: %v", r, reasons)
		}
	}
	if out := tg.log.String(); strings.Contains(out, shopSecret) || strings.Contains(out, nextSecret) || strings.Contains(out, "4711") {
		t.Fatalf("the log shows a secret or a message text:\n%s", out)
	}
	if n := tg.metrics.get("sms.app.shop.accepted"); n != 2 {
		t.Errorf("sms.app.shop.accepted = %v, want 2", n)
	}
	if n := tg.metrics.get(auth.MetricUnauthenticated); n < 8 {
		t.Errorf("%s = %v", auth.MetricUnauthenticated, n)
	}
}

// TestProtectedRoutes: every /api/sms/* route needs a signature (a DELETE
// too, whatever it will do), the receipt pushes and /healthz do not.
func TestProtectedRoutes(t *testing.T) {
	dir := t.TempDir()
	tg := newGateway(t, dir, loadApps(t, dir, shopApps))
	id := sms.NewID()
	for _, r := range [][2]string{{"GET", "/api/sms/" + id}, {"DELETE", "/api/sms/" + id}, {"PUT", "/api/sms/send"}, {"GET", "/api/sms/a/b"}, {"GET", "/api/sms"}, {"POST", "/api/sms/../sms/send"}} {
		wantStatus(t, tg.do(r[0], r[1], "", ""), http.StatusUnauthorized, "missing Authorization")
	}
	wantStatus(t, tg.do("GET", "/healthz", "", ""), http.StatusOK, "")
	// No receipt endpoint is configured here: the mux's 404, not 401.
	wantStatus(t, tg.do("POST", "/api/sms/receipts/ali?token=x", "[]", ""), http.StatusNotFound, "no such endpoint")
	// Signed, the DELETE reaches the API (405 until cancelling exists, or its answer).
	rec := tg.do("DELETE", "/api/sms/"+id, "", signedByHand("shop", shopSecret, tg.clock.Now().Unix(), freshNonce(), "DELETE", "/api/sms/"+id, ""))
	if rec.Code == http.StatusUnauthorized {
		t.Fatalf("signed DELETE: %d %s", rec.Code, rec.Body)
	}
}

func TestTemplatesAllowed(t *testing.T) {
	dir := t.TempDir()
	tg := newGateway(t, dir, loadApps(t, dir, shopApps))
	wantStatus(t, tg.send("shop", shopSecret, `{"phone":"+4915112345678","template":"password_reset","params":{"code":"1"}}`), http.StatusForbidden, "may not use template password_reset")
	wantStatus(t, tg.send("shop", shopSecret, `{"phone":"+4915112345678","content":"hi"}`), http.StatusForbidden, "may not send free text")
	wantStatus(t, tg.send("shop", shopSecret, verifyBody("+4915112345678")), http.StatusAccepted, "")
	wantStatus(t, tg.send("bulk", nextSecret, `{"phone":"+4915112345678","content":"hi"}`), http.StatusAccepted, "")
	var reasons []string
	for _, a := range tg.log.audits(t) {
		if a["status"] == float64(403) {
			reasons = append(reasons, a["reason"].(string))
		}
	}
	if strings.Join(reasons, ",") != "template_not_allowed,free_text_not_allowed" {
		t.Fatalf("403 audit reasons %v", reasons)
	}
}

// TestRotatedSecret: an application with two secrets accepts both; once
// the old one is removed from the file (and the file reloaded), only the
// new one.
func TestRotatedSecret(t *testing.T) {
	dir := t.TempDir()
	rotating := "[app.shop]\nsecret_files = [\"shop.key\", \"shop.key.next\"]\ntemplates = [\"*\"]\n"
	tg := newGateway(t, dir, loadApps(t, dir, rotating))
	wantStatus(t, tg.send("shop", shopSecret, verifyBody("+4915100000001")), http.StatusAccepted, "")
	wantStatus(t, tg.send("shop", nextSecret, verifyBody("+4915100000002")), http.StatusAccepted, "")
	keys := map[any]bool{}
	for _, a := range tg.log.audits(t) {
		keys[a["key"]] = true
	}
	if !keys["shop.key"] || !keys["shop.key.next"] {
		t.Fatalf("audit keys %v, want both files named", keys)
	}

	rotated := newGateway(t, dir, loadApps(t, dir, "[app.shop]\nsecret_files = [\"shop.key.next\"]\ntemplates = [\"*\"]\n"))
	wantStatus(t, rotated.send("shop", shopSecret, verifyBody("+4915100000003")), http.StatusUnauthorized, "signature does not match")
	wantStatus(t, rotated.send("shop", nextSecret, verifyBody("+4915100000004")), http.StatusAccepted, "")
}

// TestReplayAcrossGateways: two gateways (workers) on one store share the
// nonces: a request accepted by one is refused by the other.
func TestReplayAcrossGateways(t *testing.T) {
	dir := t.TempDir()
	apps := loadApps(t, dir, shopApps)
	a, b := newGateway(t, dir, apps), newGateway(t, dir, apps)
	body := verifyBody("+4915112345678")
	h := signedByHand("shop", shopSecret, time.Now().Unix(), "shared-nonce-0001", "POST", "/api/sms/send", body)
	wantStatus(t, a.do("POST", "/api/sms/send", body, h), http.StatusAccepted, "")
	wantStatus(t, b.do("POST", "/api/sms/send", body, h), http.StatusUnauthorized, "Nonce already used")
	// The same nonce is another application's own.
	wantStatus(t, b.do("POST", "/api/sms/send", body, signedByHand("bulk", nextSecret, time.Now().Unix(), "shared-nonce-0001", "POST", "/api/sms/send", body)), http.StatusAccepted, "")
}

func TestQuota(t *testing.T) {
	dir := t.TempDir()
	tg := newGateway(t, dir, loadApps(t, dir, shopApps)) // bulk: 2/s, burst 3, 5 a day
	phone := func(i int) string { return fmt.Sprintf("+49151000%05d", i) }
	for i := range 3 {
		wantStatus(t, tg.send("bulk", nextSecret, verifyBody(phone(i))), http.StatusAccepted, "")
	}
	rec := tg.send("bulk", nextSecret, verifyBody(phone(3)))
	wantStatus(t, rec, http.StatusTooManyRequests, "at most 2 messages per second (burst 3)")
	if rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("Retry-After %q, want 1", rec.Header().Get("Retry-After"))
	}
	// Other applications have their own quota.
	wantStatus(t, tg.send("shop", shopSecret, verifyBody(phone(50))), http.StatusAccepted, "")

	// Half a second later one token is back; shop uses up phone 60's
	// per-phone limit (3 a minute). Messages refused by that limit give
	// their token and day back.
	tg.clock.Add(500 * time.Millisecond)
	for range 3 {
		wantStatus(t, tg.send("shop", shopSecret, verifyBody(phone(60))), http.StatusAccepted, "")
	}
	tg.clock.Add(time.Second) // two tokens more: 3, the burst
	for range 2 {
		wantStatus(t, tg.send("bulk", nextSecret, verifyBody(phone(60))), http.StatusTooManyRequests, "rate limit: at most 3 messages")
	}
	wantStatus(t, tg.send("bulk", nextSecret, verifyBody(phone(4))), http.StatusAccepted, "")
	wantStatus(t, tg.send("bulk", nextSecret, verifyBody(phone(7))), http.StatusAccepted, "")
	// 5 accepted today: the day's quota is spent, whatever the bucket holds.
	tg.clock.Add(10 * time.Second)
	rec = tg.send("bulk", nextSecret, verifyBody(phone(5)))
	wantStatus(t, rec, http.StatusTooManyRequests, "at most 5 messages per UTC day")
	_, untilMidnight := auth.Day(tg.clock.Now())
	if ra, _ := strconv.Atoi(rec.Header().Get("Retry-After")); ra < int(untilMidnight.Seconds())-5 || ra > int(untilMidnight.Seconds())+5 {
		t.Fatalf("Retry-After %d, want about %v (next UTC midnight)", ra, untilMidnight)
	}
	if n := tg.metrics.get("sms.app.bulk.quotaRefused"); n != 2 {
		t.Fatalf("sms.app.bulk.quotaRefused = %v, want 2", n)
	}
	var reasons []string
	for _, a := range tg.log.audits(t) {
		if a["app"] == "bulk" && a["outcome"] == "rejected" {
			reasons = append(reasons, a["reason"].(string))
		}
	}
	if strings.Join(reasons, ",") != "quota_per_second,phone_rate_limit,phone_rate_limit,quota_per_day" {
		t.Fatalf("bulk's rejections %v", reasons)
	}
}

// TestDefaultApplication: without applications, the first gateway creates
// the default one and writes its secret (0600); a second one on the same
// store uses the same secret.
func TestDefaultApplication(t *testing.T) {
	dir := t.TempDir()
	a := newGateway(t, dir, nil)
	path := auth.DefaultSecretFile(dir)
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v, %v", fi, err)
	}
	data, _ := os.ReadFile(path)
	secret := strings.TrimSpace(string(data))
	if len(secret) < 40 {
		t.Fatalf("secret of %d characters", len(secret))
	}
	if !strings.Contains(a.log.String(), "created application default, its secret is in "+path) {
		t.Fatalf("log: %s", a.log)
	}
	os.Remove(path) // rewritten from the store
	b := newGateway(t, dir, nil)
	if !strings.Contains(b.log.String(), "uses application default, its secret is in "+path) {
		t.Fatalf("log: %s", b.log)
	}
	if again, _ := os.ReadFile(path); strings.TrimSpace(string(again)) != secret {
		t.Fatal("the second gateway wrote another secret")
	}
	wantStatus(t, b.send("default", secret, `{"phone":"+4915112345678","content":"hi"}`), http.StatusAccepted, "")
	wantStatus(t, a.send("default", secret, verifyBody("+4915112345678")), http.StatusAccepted, "")
	if strings.Contains(a.log.String()+b.log.String(), secret) {
		t.Fatal("the secret is in the log")
	}
}

func TestLoadAppsErrors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "ok.key", shopSecret, 0o600)
	writeFile(t, dir, "open.key", shopSecret, 0o644)
	writeFile(t, dir, "short.key", "short", 0o600)
	cases := map[string]string{
		"":                                       "no [app.ID] section",
		"[apps.x]\n":                             "[apps.x]: unknown section",
		"[app.x]\ntemplates = [\"*\"]\n":         "[app.x]: no secret_files",
		"[app.x]\nsecret_files = [\"ok.key\"]\n": "[app.x]: allows no message",
		"[app.x]\nsecret_files = [\"open.key\"]\ntemplates = [\"*\"]\n":                                               "app.x.secret_files: ",
		"[app.x]\nsecret_files = [\"short.key\"]\ntemplates = [\"*\"]\n":                                              "want one secret of at least 16 characters",
		"[app.x]\nsecret_files = [\"ok.key\"]\ntemplates = [\"nope\"]\n":                                              `no template "nope"`,
		"[app.x]\nsecret_files = [\"ok.key\"]\ntemplates = [\"*\"]\nper_second = -1\n":                                "app.x.per_second: want a positive number",
		"[app.x]\nsecret_files = [\"ok.key\"]\ntemplates = [\"*\"]\nburst = 3\n":                                      "burst without per_second",
		"[app.x]\nsecret_files = [\"ok.key\"]\ntemplates = [\"*\"]\ncolour = 3\n":                                     "app.x.colour: unknown key",
		"[app.x]\nsecret_files = [\"ok.key\", \"ok.key\", \"ok.key\", \"ok.key\", \"ok.key\"]\ntemplates = [\"*\"]\n": "want 1 to 4 secret files",
	}
	for text, want := range cases {
		path := writeFile(t, dir, "apps.toml", text, 0o644)
		_, err := auth.LoadApps(path, templateNames())
		if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), path) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: %v, want one line starting with the file and containing %q", text, err, want)
		}
		if err != nil && strings.Contains(err.Error(), shopSecret) {
			t.Errorf("the error shows the secret: %v", err)
		}
	}
	if _, err := auth.LoadApps(filepath.Join(dir, "missing.toml"), nil); err == nil {
		t.Error("a missing file loads")
	}
}

// FuzzProtect sends arbitrary Authorization headers, methods, paths and
// bodies through the guard in front of the gateway: every answer is one of
// the documented statuses with a JSON body, and nothing is accepted
// without a valid signature. Seeds: testdata/fuzz/FuzzProtect and below.
func FuzzProtect(f *testing.F) {
	body := verifyBody("+4915112345678")
	f.Add("POST", "/api/sms/send", body, signedByHand("shop", shopSecret, time.Now().Unix(), "fuzz-seed-nonce-1", "POST", "/api/sms/send", body))
	f.Add("GET", "/api/sms/ABC", "", "SMS-HMAC-SHA256 Credential=shop, Timestamp=1, Nonce=aaaaaaaaaaaaaaaa, Signature="+strings.Repeat("0", 64))
	f.Add("DELETE", "/api/sms/x", "{}", "SMS-HMAC-SHA256 Credential=, Timestamp=, Nonce=, Signature=")
	dir := f.TempDir()
	writeFile(f, dir, "shop.key", shopSecret, 0o600)
	apps, err := auth.LoadApps(writeFile(f, dir, "apps.toml", "[app.shop]\nsecret_files = [\"shop.key\"]\ntemplates = [\"verify_code\"]\nper_second = 1000\n", 0o644), templateNames())
	if err != nil {
		f.Fatal(err)
	}
	st, err := sms.OpenSQLite(filepath.Join(dir, sms.SQLiteFile))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	g, err := sms.New(sms.Config{DataDir: dir}, slog.New(slog.DiscardHandler), sms.Hooks{Store: st, Auth: &auth.Options{Apps: apps}})
	if err != nil {
		f.Fatal(err)
	}
	h := g.Handler()
	f.Fuzz(func(t *testing.T, method, target, body, authz string) {
		if !strings.HasPrefix(target, "/") || strings.ContainsAny(target, " \r\n\x00#") || strings.ContainsAny(authz, "\r\n\x00") ||
			method == "" || strings.ContainsAny(method, " \r\n\x00/()<>@,;:\\\"[]?={}\t") || method == "CONNECT" {
			return // not an HTTP request a server would parse
		}
		defer func() {
			if r := recover(); r != nil && strings.Contains(fmt.Sprint(r), "invalid") {
				t.Skip("httptest refused the request:", r)
			}
		}()
		req := httptest.NewRequest(method, target, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", authz)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case 301, 307, 308: // the mux's redirect of an unclean path: the clean one is checked when followed
			return
		case 200, 202, 400, 401, 403, 404, 405, 413, 415, 422, 429:
		default:
			t.Fatalf("%s %s: status %d: %s", method, target, rec.Code, rec.Body)
		}
		if method != "HEAD" && !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("reply is not JSON: %q", rec.Body)
		}
		if (rec.Code == 202 || rec.Code == 200) && strings.HasPrefix(req.URL.Path, "/api/sms/") {
			if _, err := auth.ParseAuthorization(authz); err != nil {
				t.Fatalf("%s %s answered %d with a malformed Authorization %q", method, target, rec.Code, authz)
			}
		}
	})
}

// TestCancelAudited: a signed DELETE that cancels a scheduled message is
// audited as cancelled, under the application that signed it.
func TestCancelAudited(t *testing.T) {
	dir := t.TempDir()
	tg := newGateway(t, dir, loadApps(t, dir, shopApps))
	sendAt := tg.clock.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	rec := tg.send("shop", shopSecret, `{"phone":"+4915112345678","template":"verify_code","params":{"code":"4711"},"send_at":"`+sendAt+`"}`)
	wantStatus(t, rec, http.StatusAccepted, "")
	var reply sms.SendReply
	json.Unmarshal(rec.Body.Bytes(), &reply)
	target := "/api/sms/" + reply.ID
	wantStatus(t, tg.do("DELETE", target, "", signedByHand("shop", shopSecret, tg.clock.Now().Unix(), freshNonce(), "DELETE", target, "")), http.StatusOK, "")
	audits := tg.log.audits(t)
	if a := audits[len(audits)-1]; a["outcome"] != "cancelled" || a["app"] != "shop" || a["id"] != reply.ID || a["method"] != "DELETE" {
		t.Fatalf("audit of the cancel: %v", a)
	}
	if n := tg.metrics.get("sms.app.shop.cancelled"); n != 1 {
		t.Fatalf("sms.app.shop.cancelled = %v", n)
	}
}
