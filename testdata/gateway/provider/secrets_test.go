package provider_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/nodeagent/node-agent/testdata/gateway/provider"
	"github.com/nodeagent/node-agent/testdata/gateway/provider/providertest"
)

// TestSecretsNeverPrinted: credentials, errors, stats and the start line
// never show a secret, whatever way they are printed.
func TestSecretsNeverPrinted(t *testing.T) {
	const secret = "s3cr3t-value-must-not-leak"
	creds := provider.Credentials{ID: "LTAIid", Secret: provider.NewSecret(secret)}
	var logBuf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logBuf, nil))
	log.Info("creds", "creds", creds, "secret", creds.Secret)
	js, _ := json.Marshal(creds)
	printed := []string{
		fmt.Sprint(creds), fmt.Sprintf("%+v", creds), fmt.Sprintf("%#v", creds), fmt.Sprintf("%s %q %x", creds.Secret, creds.Secret, creds.Secret),
		creds.Secret.String(), string(js), logBuf.String(),
	}

	// Errors of a provider using a wrong secret (the reply quotes the
	// string to sign, never the secret), its stats, the router's start line.
	fake := newAliyunFake(t)
	a := newAliyun(t, fake.URL(), aliyunKeyID, secret, nil)
	r, err := provider.NewRouter([]provider.Provider{a}, provider.RouterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Send(ctxT(t), verifyMessage("m", "+8613800138000"))
	if err == nil {
		t.Fatal("wrong secret accepted")
	}
	stats, _ := json.Marshal(r.Stats())
	printed = append(printed, err.Error(), fmt.Sprintf("%+v", err), string(stats), r.Describe(), fmt.Sprintf("%+v", a))

	tf := newTencentFake(t)
	tp := newTencent(t, tf.URL(), tencentID, secret, nil)
	_, err = tp.Send(ctxT(t), verifyMessage("m", "+8613800138000"))
	printed = append(printed, fmt.Sprintf("%v %+v", err, tp))

	h := provider.NewReceiptHandler(map[string]provider.ReceiptEndpoint{"ali": {Kind: provider.KindAliyun, Token: provider.NewSecret(secret)}}, providertest.NewMemorySink(), nil)
	hs, _ := json.Marshal(h.Stats())
	printed = append(printed, fmt.Sprintf("%+v", h), string(hs))

	for _, s := range printed {
		if strings.Contains(s, secret) {
			t.Errorf("secret printed in %q", s)
		}
	}
}
