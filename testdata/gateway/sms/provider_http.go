package sms

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// HTTPSendRequest is the body HTTPProvider posts. OutID is the message id:
// the provider sends each OutID at most once.
type HTTPSendRequest struct {
	OutID string `json:"out_id"`
	Phone string `json:"phone"`
	Text  string `json:"text"`
}

// HTTPProvider sends through a provider service speaking a minimal JSON API:
// POST URL with an HTTPSendRequest; 2xx is accepted (also for an OutID
// accepted before), 429 and 5xx are temporary failures, other statuses are
// permanent. The simulated provider of the tests and benchmarks
// (sms/smstest.Provider) is such a service; $SMS_PROVIDER_URL selects it.
type HTTPProvider struct {
	url    string
	client *http.Client
}

// NewHTTPProvider returns a provider posting to url, each call bounded by timeout.
func NewHTTPProvider(url string, timeout time.Duration) *HTTPProvider {
	return &HTTPProvider{url: url, client: &http.Client{Timeout: timeout}}
}

// Send implements Provider.
func (p *HTTPProvider) Send(ctx context.Context, m Message) error {
	body, err := json.Marshal(HTTPSendRequest{OutID: m.ID, Phone: m.Phone, Text: m.Text})
	if err != nil {
		return Permanent(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return Permanent(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("provider: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	switch {
	case resp.StatusCode/100 == 2:
		return nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return fmt.Errorf("provider: %s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	return Permanent(fmt.Errorf("provider: %s: %s", resp.Status, bytes.TrimSpace(msg)))
}
