package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nodeagent/node-agent/testdata/gateway/auth"
	"github.com/nodeagent/node-agent/testdata/gateway/sms"
)

func TestSignCommand(t *testing.T) {
	dir := t.TempDir()
	secret := "sign-command-secret-0123"
	if err := os.WriteFile(auth.DefaultSecretFile(dir), []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) string {
		if k == sms.EnvDataDir {
			return dir
		}
		return ""
	}
	body := `{"phone":"+4915112345678","content":"hi"}`
	var out, errOut bytes.Buffer
	if code := runSign([]string{"-d", body, "post", "http://127.0.0.1:8080/api/sms/send?x=1"}, getenv, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	name, value, _ := strings.Cut(strings.TrimSpace(out.String()), ": ")
	c, err := auth.ParseAuthorization(value)
	if name != "Authorization" || err != nil || c.App != auth.DefaultAppID {
		t.Fatalf("printed %q: %v", out.String(), err)
	}
	bodySum := sha256.Sum256([]byte(body))
	sts := strings.Join([]string{"SMS-HMAC-SHA256", "default", strconv.FormatInt(c.Timestamp.Unix(), 10), c.Nonce, "POST", "/api/sms/send?x=1", hex.EncodeToString(bodySum[:])}, "\n")
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(sts))
	if !hmac.Equal(mac.Sum(nil), c.Signature) {
		t.Fatal("the printed signature does not verify")
	}

	open := filepath.Join(dir, "open.key")
	os.WriteFile(open, []byte(secret), 0o644)
	os.Chmod(open, 0o644)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"POST"}, 2, "usage: gateway sign"},
		{[]string{"POST", "api/sms/send"}, 2, `"api/sms/send": want a path such as /api/sms/send`},
		{[]string{"-secret-file", open, "GET", "/api/sms/x"}, 1, "has mode 0644: readable by others"},
		{[]string{"-secret-file", filepath.Join(dir, "none"), "GET", "/api/sms/x"}, 1, "no such file"},
	} {
		out.Reset()
		errOut.Reset()
		code := runSign(c.args, getenv, &out, &errOut)
		if code != c.code || !strings.Contains(errOut.String(), c.want) || out.Len() != 0 || strings.Contains(errOut.String(), secret) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", c.args, code, errOut.String(), c.code, c.want)
		}
	}
}
