package provider

import (
	"context"
	"encoding/json"
)

// Provider sends one SMS through one provider account.
//
// Send returns the provider's id of the accepted message (Aliyun BizId,
// Tencent SerialNo), which later delivery receipts name. Any error it
// returns is an *Error: its Class says whether the message may be retried
// and whether another provider may be tried. Send returns promptly with an
// error of class Temporary when ctx is done.
type Provider interface {
	Name() string // the provider's name in the configuration, such as "aliyun"
	Kind() Kind   // which protocol it speaks
	Send(ctx context.Context, m Message) (providerID string, err error)
}

// Kind names a provider protocol.
type Kind string

// The provider kinds.
const (
	KindSimulated Kind = "simulated" // no network: today's stub, the zero-credential default
	KindAliyun    Kind = "aliyun"    // Alibaba Cloud Dysmsapi SendSms, RPC signature v1 (HMAC-SHA1)
	KindTencent   Kind = "tencent"   // Tencent Cloud SMS SendSms 2021-01-11, TC3-HMAC-SHA256
)

// Message is one SMS to send.
type Message struct {
	// ID is the gateway's message id. It goes to the provider as the
	// caller's own reference (Aliyun OutId, Tencent SessionContext) and comes
	// back in Aliyun's receipts.
	ID string
	// Phone is the recipient: an optional '+' and 8 to 15 digits, as the
	// gateway accepts it.
	Phone string
	// Template is the gateway's template name. Real providers send templates
	// only; each provider maps the name to its own template code and sign
	// name (Config.Templates). Empty means a free-text message (Content).
	Template string
	// Params are the template's parameters in the template's order (Tencent
	// takes them positionally, Aliyun as a JSON object).
	Params []Param
	// Content is the rendered text; only the simulated provider uses it.
	Content string
}

// Param is one template parameter.
type Param struct {
	Name, Value string
}

// paramsJSON is params as the JSON object Aliyun's TemplateParam takes, keys
// in template order.
func paramsJSON(params []Param) string {
	if len(params) == 0 {
		return ""
	}
	b := []byte{'{'}
	for i, p := range params {
		if i > 0 {
			b = append(b, ',')
		}
		k, _ := json.Marshal(p.Name)
		v, _ := json.Marshal(p.Value)
		b = append(append(append(b, k...), ':'), v...)
	}
	return string(append(b, '}'))
}

// paramValues is params as the ordered list Tencent's TemplateParamSet takes.
func paramValues(params []Param) []string {
	vs := make([]string, len(params))
	for i, p := range params {
		vs[i] = p.Value
	}
	return vs
}

// Route is how one provider sends one gateway template.
type Route struct {
	TemplateCode string // the provider's template id (Aliyun "SMS_123456789", Tencent "1234567")
	SignName     string // the approved signature shown in the message, e.g. 【Example】
}
