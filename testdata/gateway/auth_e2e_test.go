package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nodeagent/node-agent/testdata/gateway/auth"
	"github.com/nodeagent/node-agent/testdata/gateway/sms"
	"github.com/nodeagent/node-agent/testdata/gateway/sms/smstest"
)

// signedClient sends requests signed as one application.
type signedClient struct {
	app    string
	secret []byte
	c      *http.Client
}

func newSignedClient(app string, secret []byte) *signedClient {
	return &signedClient{app: app, secret: secret, c: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}}
}

// do sends one request; authz, when not empty, replaces the signature.
func (s *signedClient) do(t *testing.T, method, url, body, authz string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if authz == "" {
		auth.SignHTTP(req, s.app, s.secret, []byte(body))
	} else {
		req.Header.Set(auth.HeaderAuthorization, authz)
	}
	resp, err := s.c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, string(data)
}

// TestAuthUnderAgent: two workers under node-agent with authentication on
// and no applications configured. The first start creates the default
// application and its secret file (0600, path logged); `gateway sign`
// signs a curl-like request with it; a signed request replayed to the
// other worker is refused (the nonce is in the shared store); unsigned
// calls are refused, /healthz is open.
func TestAuthUnderAgent(t *testing.T) {
	gw := buildGateway(t)
	dataDir := t.TempDir()
	a := startAgentWith(t, buildAgent(t), gw, []string{"-i", "2"}, EnvAuth+"=on", sms.EnvDataDir+"="+dataDir)
	a.waitLine(t, `worker 1 \(pid \d+\) ready`, 60*time.Second)
	secretFile := auth.DefaultSecretFile(dataDir)
	a.waitLine(t, `application default, its secret is in `+secretFile, 10*time.Second)
	fi, err := os.Stat(secretFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret file %s: %v %v, want mode 0600", secretFile, fi, err)
	}
	secret, _ := os.ReadFile(secretFile)
	if strings.Contains(a.out.String(), strings.TrimSpace(string(secret))) {
		t.Fatal("the secret is in the agent's output")
	}

	// `gateway sign` prints the header, as the README's curl example uses it.
	body := `{"phone":"+4915112345678","template":"verify_code","params":{"code":"4711"}}`
	sign := exec.Command(gw, "sign", "-d", body, "POST", "/api/sms/send")
	sign.Env = append(cleanEnv(), sms.EnvDataDir+"="+dataDir)
	out, err := sign.Output()
	if err != nil {
		t.Fatalf("gateway sign: %v", err)
	}
	name, header, ok := strings.Cut(strings.TrimSpace(string(out)), ": ")
	if !ok || name != auth.HeaderAuthorization {
		t.Fatalf("gateway sign printed %q", out)
	}
	c := newSignedClient(auth.DefaultAppID, bytes.TrimSpace(secret))
	url := "http://" + a.addr + "/api/sms/send"
	resp, reply := c.do(t, "POST", url, body, header)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("signed by gateway sign: %d %s", resp.StatusCode, reply)
	}
	first := resp.Header.Get(sms.HeaderWorkerPID)

	// The same request again, until the other worker answers: refused there too.
	deadline := time.Now().Add(30 * time.Second)
	answered := map[string]bool{}
	for len(answered) < 2 || !answered[first] {
		resp, reply := c.do(t, "POST", url, body, header)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(reply, "Nonce already used") {
			t.Fatalf("replay to worker %s: %d %s", resp.Header.Get(sms.HeaderWorkerPID), resp.StatusCode, reply)
		}
		answered[resp.Header.Get(sms.HeaderWorkerPID)] = true
		if time.Now().After(deadline) {
			t.Fatalf("only workers %v answered in 30 s", answered)
		}
	}

	// Fresh signatures are accepted by either worker; unsigned calls are not.
	for i := range 2 {
		if resp, reply := c.do(t, "POST", url, fmt.Sprintf(`{"phone":"+491510000%04d","content":"hi"}`, i), ""); resp.StatusCode != http.StatusAccepted {
			t.Fatalf("signed send %d: %d %s", i, resp.StatusCode, reply)
		}
	}
	for _, r := range [][2]string{{"POST", "/api/sms/send"}, {"GET", "/api/sms/" + sms.NewID()}, {"DELETE", "/api/sms/" + sms.NewID()}} {
		req, _ := http.NewRequest(r[0], "http://"+a.addr+r[1], strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("unsigned %s %s: %d, want 401", r[0], r[1], resp.StatusCode)
		}
	}
	resp, err = c.c.Get("http://" + a.addr + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	a.waitLine(t, `audit app=default outcome=rejected .*reason=replayed_nonce`, 10*time.Second)
}

// TestAuthQuotaTwoAgentsOneRedis: two agents (two hosts, two workers each)
// on one Redis share an application's quota: of many concurrent sends to
// both, exactly the burst is accepted, the rest answered 429 with
// Retry-After; a second application's day quota holds the same way.
func TestAuthQuotaTwoAgentsOneRedis(t *testing.T) {
	r := smstest.StartRedis(t)
	agent, gw := buildAgent(t), buildGateway(t)
	dir := t.TempDir()
	for name, secret := range map[string]string{"burst.key": "burst-secret-0123456789", "daily.key": "daily-secret-0123456789"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(secret), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	apps := filepath.Join(dir, "apps.toml")
	os.WriteFile(apps, []byte(`
[app.burst]
secret_files = ["burst.key"]
free_text = true
per_second = 0.01   # one token per 100 s: the burst is all there is
burst = 7

[app.daily]
secret_files = ["daily.key"]
free_text = true
per_day = 5
`), 0o644)
	env := []string{EnvAuth + "=on", auth.EnvApps + "=" + apps, sms.EnvStore + "=" + r.URL()}
	args := []string{"-i", "2"}
	hosts := []*agentProc{
		startAgentWith(t, agent, gw, args, append(env, sms.EnvDataDir+"="+t.TempDir())...),
		startAgentWith(t, agent, gw, args, append(env, sms.EnvDataDir+"="+t.TempDir())...),
	}
	for _, c := range []struct {
		app, secret string
		want        int
		quota       string
	}{
		{"burst", "burst-secret-0123456789", 7, "per second"},
		{"daily", "daily-secret-0123456789", 5, "per UTC day"},
	} {
		client := newSignedClient(c.app, []byte(c.secret))
		var mu sync.Mutex
		codes := map[int]int{}
		var wg sync.WaitGroup
		for i := range 24 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				h := hosts[i%2]
				resp, reply := client.do(t, "POST", "http://"+h.addr+"/api/sms/send", fmt.Sprintf(`{"phone":"+49151%08d","content":"hi"}`, i), "")
				if resp.StatusCode == http.StatusTooManyRequests && (resp.Header.Get("Retry-After") == "" || !strings.Contains(reply, c.quota)) {
					t.Errorf("429 without Retry-After or not about the %s quota: %v %s", c.quota, resp.Header, reply)
				}
				mu.Lock()
				codes[resp.StatusCode]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		if codes[202] != c.want || codes[429] != 24-c.want {
			t.Fatalf("%s: answers %v, want %d × 202 and %d × 429 across both hosts", c.app, codes, c.want, 24-c.want)
		}
		t.Logf("%s: %v", c.app, codes)
	}
}

// TestAuthOffOnlyOnLoopback: SMS_AUTH=off is refused (one line, exit 2)
// on an address other than loopback, and warned about on loopback.
func TestAuthOffOnlyOnLoopback(t *testing.T) {
	gw := buildGateway(t)
	cmd := exec.Command(gw)
	cmd.Env = append(cleanEnv(), "GATEWAY_ADDR=0.0.0.0:0", EnvAuth+"=off", sms.EnvDataDir+"="+t.TempDir())
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errorAs(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("exit %v, want 2:\n%s", err, out)
	}
	var errs []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "level=ERROR") {
			errs = append(errs, line)
		}
	}
	if len(errs) != 1 || !strings.Contains(errs[0], "SMS_AUTH=off is refused: the gateway listens on ") || !strings.Contains(errs[0], ", not on loopback only") {
		t.Fatalf("want one error line refusing SMS_AUTH=off:\n%s", out)
	}

	p := start(t, gw) // loopback, SMS_AUTH=off
	if !strings.Contains(p.output(), "SMS_AUTH=off: requests are not authenticated") {
		t.Fatalf("no warning:\n%s", p.output())
	}
	if resp := call(t, "POST", p.url+"/api/sms/send", `{"phone":"+4915112345678","content":"hi"}`, nil); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("unsigned send with SMS_AUTH=off: %d", resp.StatusCode)
	}

	cmd = exec.Command(gw)
	cmd.Env = append(cleanEnv(), "GATEWAY_ADDR=127.0.0.1:0", EnvAuth+"=maybe")
	out, err = cmd.CombinedOutput()
	if !errorAs(err, &ee) || ee.ExitCode() != 2 || strings.TrimSpace(string(out)) != `gateway: SMS_AUTH="maybe": want on or off` {
		t.Fatalf("SMS_AUTH=maybe: %v %q", err, out)
	}
}

// signingTransport signs every request as one application, each attempt
// anew (fresh nonce and timestamp), as a client library would.
type signingTransport struct {
	base   http.RoundTripper
	app    string
	secret []byte
}

// RoundTrip implements http.RoundTripper.
func (s signingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.GetBody != nil {
		rc, err := r.GetBody()
		if err != nil {
			return nil, err
		}
		body, err = io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, err
		}
	}
	r = r.Clone(r.Context())
	auth.SignHTTP(r, s.app, s.secret, body)
	return s.base.RoundTrip(r)
}

// defaultAppSecret returns the secret of the default application that a
// gateway wrote to dataDir.
func defaultAppSecret(t *testing.T, dataDir string) []byte {
	t.Helper()
	secret, err := os.ReadFile(auth.DefaultSecretFile(dataDir))
	if err != nil {
		t.Fatalf("the default application's secret: %v", err)
	}
	return bytes.TrimSpace(secret)
}
