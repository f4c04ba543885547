package provider

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/dysmsapi"
)

// Aliyun sends through Alibaba Cloud's Dysmsapi SendSms (version
// 2017-05-25) with the official SDK, which signs each call (RPC signature
// v1, HMAC-SHA1, a fresh SignatureNonce and Timestamp per call).
type Aliyun struct {
	name      string
	scheme    string // "http" or "https"
	host      string // host[:port] of the endpoint
	region    string
	creds     Credentials
	routes    map[string]Route
	transport http.RoundTripper
	timeout   time.Duration
}

// AliyunOptions configures NewAliyun.
type AliyunOptions struct {
	Name        string
	Endpoint    string // scheme://host[:port]; AliyunEndpoint when empty
	Region      string // AliyunRegion when empty
	Credentials Credentials
	Routes      map[string]Route // gateway template name → template code and sign name
	// Transport carries the calls; http.DefaultTransport's clone when nil.
	Transport http.RoundTripper
	// Timeout bounds one call when the context has no earlier deadline;
	// DefaultAttemptTimeout when zero.
	Timeout time.Duration
}

// NewAliyun returns the Aliyun provider.
func NewAliyun(o AliyunOptions) (*Aliyun, error) {
	u, err := url.Parse(orDefault(o.Endpoint, AliyunEndpoint))
	if err != nil || u.Host == "" {
		return nil, errors.New("aliyun: invalid endpoint")
	}
	a := &Aliyun{
		name:      orDefault(o.Name, string(KindAliyun)),
		scheme:    u.Scheme,
		host:      u.Host,
		region:    orDefault(o.Region, AliyunRegion),
		creds:     o.Credentials,
		routes:    o.Routes,
		transport: o.Transport,
		timeout:   orDefault(o.Timeout, DefaultAttemptTimeout),
	}
	if a.transport == nil {
		a.transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	return a, nil
}

func (a *Aliyun) Name() string { return a.name }
func (a *Aliyun) Kind() Kind   { return KindAliyun }

// Send calls SendSms for m. The SDK has no context parameter: each call gets
// its own SDK client whose transport carries ctx, so cancellation and
// deadlines reach the HTTP request (and concurrent calls share no mutable
// SDK state). The SDK's own retries are off: the Router and the delivery
// loop decide.
func (a *Aliyun) Send(ctx context.Context, m Message) (string, error) {
	route, ok := a.routes[m.Template]
	if m.Template == "" || !ok {
		return "", templateError(a.name, m.Template)
	}
	req := dysmsapi.CreateSendSmsRequest()
	req.Scheme = a.scheme
	req.Domain = a.host
	req.PhoneNumbers = aliyunPhone(m.Phone)
	req.SignName = route.SignName
	req.TemplateCode = route.TemplateCode
	req.TemplateParam = paramsJSON(m.Params)
	req.OutId = m.ID

	cfg := sdk.NewConfig()
	cfg.AutoRetry = false
	cfg.MaxRetryTime = 0
	cfg.Scheme = strings.ToUpper(a.scheme)
	cfg.Timeout = a.timeout
	cfg.Transport = contextTransport{ctx: ctx, next: a.transport}
	client := &dysmsapi.Client{}
	cred := &credentials.AccessKeyCredential{AccessKeyId: a.creds.ID, AccessKeySecret: a.creds.Secret.Reveal()}
	if err := client.InitWithOptions(a.region, cfg, cred); err != nil {
		return "", &Error{Provider: a.name, Code: "ClientConfig", Message: "aliyun SDK refused the configuration", Class: Account, Err: err}
	}
	resp, err := client.SendSms(req)
	if err != nil {
		return "", a.sdkError(ctx, err)
	}
	if resp.Code != "OK" {
		return "", &Error{Provider: a.name, Code: resp.Code, Message: resp.Message, HTTPStatus: resp.GetHttpStatus(), RequestID: resp.RequestId, Class: aliyunClass(resp.Code, resp.GetHttpStatus())}
	}
	return resp.BizId, nil
}

// sdkError classifies an error of the SDK: a server error (non-2xx reply)
// by its code and status, anything else as a transport failure.
func (a *Aliyun) sdkError(ctx context.Context, err error) error {
	var se *sdkerrors.ServerError
	if errors.As(err, &se) {
		msg := se.Message()
		if se.ErrorCode() == "" { // not a JSON error body: an LB page, say
			msg = http.StatusText(se.HttpStatus())
		}
		return &Error{Provider: a.name, Code: orDefault(se.ErrorCode(), "HTTP"+http.StatusText(se.HttpStatus())), Message: msg, HTTPStatus: se.HttpStatus(), RequestID: se.RequestId(), Class: aliyunClass(se.ErrorCode(), se.HttpStatus())}
	}
	return transportError(ctx, a.name, err)
}

// aliyunPhone is the PhoneNumbers form of a gateway phone: digits only, and
// mainland China numbers without their 86 country code.
func aliyunPhone(phone string) string {
	if d, ok := strings.CutPrefix(phone, "+86"); ok && len(d) == 11 {
		return d
	}
	return strings.TrimPrefix(phone, "+")
}

// aliyunClass maps an Aliyun error code (and the HTTP status) to a Class.
func aliyunClass(code string, status int) Class {
	switch code {
	case "isv.MOBILE_NUMBER_ILLEGAL", "isv.MOBILE_COUNT_OVER_LIMIT", "isv.BLACK_KEY_CONTROL_LIMIT",
		"isv.PARAM_LENGTH_LIMIT", "isv.PARAM_NOT_SUPPORT_URL", "isv.INVALID_JSON_PARAM",
		"isv.TEMPLATE_MISSING_PARAMETERS", "isv.TEMPLATE_PARAMS_ILLEGAL", "isv.INVALID_PARAMETERS",
		"isv.SMS_CONTENT_ILLEGAL", "isv.DENY_IP_RANGE", "isv.EXTEND_CODE_ERROR", "isv.DOMESTIC_NUMBER_NOT_SUPPORTED":
		return Permanent
	case "isv.BUSINESS_LIMIT_CONTROL", "isv.DAY_LIMIT_CONTROL", "isv.SMS_OVER_LIMIT":
		return Throttled
	case "isv.AMOUNT_NOT_ENOUGH", "isv.OUT_OF_SERVICE", "isv.ACCOUNT_NOT_EXISTS", "isv.ACCOUNT_ABNORMAL",
		"isv.SMS_TEMPLATE_ILLEGAL", "isv.SMS_SIGNATURE_ILLEGAL", "isv.SMS_SIGN_ILLEGAL", "isv.SMS_SIGNATURE_SCENE_ILLEGAL",
		"isp.RAM_PERMISSION_DENY", "SignatureDoesNotMatch", "IncompleteSignature", "InvalidAccessKeyId.NotFound",
		"InvalidAccessKeyId.Inactive", "Forbidden.RAM", "Forbidden.AccessKeyDisabled", "InvalidTimeStamp.Expired",
		"SignatureNonceUsed", "InvalidVersion", "MissingParameter":
		return Account
	}
	if strings.HasPrefix(code, "Throttling") || strings.HasPrefix(code, "isp.") || status >= 500 || status == 0 {
		return Temporary
	}
	if strings.HasPrefix(code, "isv.") {
		return Permanent // an unlisted complaint about the request itself
	}
	return Temporary
}

// templateError is the error of a message a real provider cannot send:
// free text, or a template it has no route for.
func templateError(provider, template string) *Error {
	if template == "" {
		return &Error{Provider: provider, Code: "TemplateRequired", Message: "this provider sends approved templates only, not free text", Class: Permanent}
	}
	return &Error{Provider: provider, Code: "TemplateNotConfigured", Message: "no template_code for template " + template, Class: Account}
}

// contextTransport sends every request with ctx.
type contextTransport struct {
	ctx  context.Context
	next http.RoundTripper
}

func (t contextTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return t.next.RoundTrip(r.WithContext(t.ctx))
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
