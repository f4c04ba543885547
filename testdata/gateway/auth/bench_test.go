package auth_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nodeagent/node-agent/testdata/gateway/auth"
	"github.com/nodeagent/node-agent/testdata/gateway/sms"
)

// BenchmarkSend measures one send through the gateway's handler on the
// embedded store, unsigned (SMS_AUTH=off) and signed (signature checked,
// nonce recorded in the store, quota taken): the price of authentication.
// Each send goes to its own phone, so the per-phone limit never refuses.
func BenchmarkSend(b *testing.B) {
	for _, signed := range []bool{false, true} {
		name := "unsigned"
		if signed {
			name = "signed"
		}
		b.Run(name, func(b *testing.B) {
			dir := b.TempDir()
			writeFile(b, dir, "shop.key", shopSecret, 0o600)
			apps, err := auth.LoadApps(writeFile(b, dir, "apps.toml", "[app.shop]\nsecret_files = [\"shop.key\"]\nfree_text = true\nper_second = 1000000\n", 0o644), nil)
			if err != nil {
				b.Fatal(err)
			}
			st, err := sms.OpenSQLite(filepath.Join(dir, sms.SQLiteFile))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			hooks := sms.Hooks{Store: st}
			if signed {
				hooks.Auth = &auth.Options{Apps: apps}
			}
			g, err := sms.New(sms.Config{DataDir: dir}, slog.New(slog.DiscardHandler), hooks)
			if err != nil {
				b.Fatal(err)
			}
			h := g.Handler()
			b.SetParallelism(16) // concurrent clients, as a loaded gateway has: group commit shares the fsyncs
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					body := fmt.Sprintf(`{"phone":"+49151%08d","content":"hi"}`, freshNonceN())
					req := httptest.NewRequest("POST", "/api/sms/send", strings.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					if signed {
						auth.SignHTTP(req, "shop", []byte(shopSecret), []byte(body))
					}
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != http.StatusAccepted {
						b.Fatalf("%d %s", rec.Code, rec.Body)
					}
				}
			})
		})
	}
}

func freshNonceN() int {
	nonces.mu.Lock()
	defer nonces.mu.Unlock()
	nonces.n++
	return nonces.n
}
