package provider

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tcerr "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"
)

// Tencent sends through Tencent Cloud SMS SendSms (API 2021-01-11) with the
// SDK's common client, which signs each call with TC3-HMAC-SHA256. (The SDK's
// SMS product module is not needed: the common client calls any action.)
type Tencent struct {
	name   string
	appID  string
	routes map[string]Route
	client *common.Client
}

// TencentOptions configures NewTencent.
type TencentOptions struct {
	Name        string
	Endpoint    string // scheme://host[:port]; TencentEndpoint when empty
	Region      string // TencentRegion when empty
	SDKAppID    string // SmsSdkAppId
	Credentials Credentials
	Routes      map[string]Route
	Transport   http.RoundTripper // http.DefaultTransport's clone when nil
	Timeout     time.Duration     // bound of one call; DefaultAttemptTimeout when zero (whole seconds, at least 1)
}

// NewTencent returns the Tencent provider.
func NewTencent(o TencentOptions) (*Tencent, error) {
	u, err := url.Parse(orDefault(o.Endpoint, TencentEndpoint))
	if err != nil || u.Host == "" {
		return nil, errors.New("tencent: invalid endpoint")
	}
	prof := profile.NewClientProfile()
	prof.HttpProfile.Endpoint = u.Host
	prof.HttpProfile.Scheme = strings.ToUpper(u.Scheme)
	prof.HttpProfile.ReqMethod = http.MethodPost
	prof.HttpProfile.ReqTimeout = max(1, int(orDefault(o.Timeout, DefaultAttemptTimeout)/time.Second))
	prof.NetworkFailureMaxRetries = 0
	prof.RateLimitExceededMaxRetries = 0
	prof.DisableRegionBreaker = true // the Router has its own breaker per provider
	prof.Language = "en-US"
	client := common.NewCommonClient(common.NewCredential(o.Credentials.ID, o.Credentials.Secret.Reveal()), orDefault(o.Region, TencentRegion), prof)
	tr := o.Transport
	if tr == nil {
		tr = http.DefaultTransport.(*http.Transport).Clone()
	}
	client.WithHttpTransport(tr)
	return &Tencent{name: orDefault(o.Name, string(KindTencent)), appID: o.SDKAppID, routes: o.Routes, client: client}, nil
}

func (t *Tencent) Name() string { return t.name }
func (t *Tencent) Kind() Kind   { return KindTencent }

// tencentStatus is one element of SendSms's SendStatusSet.
type tencentStatus struct {
	SerialNo       string
	PhoneNumber    string
	Fee            int
	SessionContext string
	Code           string
	Message        string
	IsoCode        string
}

// Send calls SendSms for m, one number per call. The message id goes as
// SessionContext.
func (t *Tencent) Send(ctx context.Context, m Message) (string, error) {
	route, ok := t.routes[m.Template]
	if m.Template == "" || !ok {
		return "", templateError(t.name, m.Template)
	}
	req := tchttp.NewCommonRequest("sms", "2021-01-11", "SendSms")
	req.SetContext(ctx)
	params := map[string]any{
		"PhoneNumberSet":   []string{tencentPhone(m.Phone)},
		"SmsSdkAppId":      t.appID,
		"SignName":         route.SignName,
		"TemplateId":       route.TemplateCode,
		"TemplateParamSet": paramValues(m.Params),
		"SessionContext":   m.ID,
	}
	if err := req.SetActionParameters(params); err != nil {
		return "", &Error{Provider: t.name, Code: "ClientError", Message: "cannot encode the request", Class: Permanent, Err: err}
	}
	resp := tchttp.NewCommonResponse()
	if err := t.client.Send(req, resp); err != nil {
		return "", t.sdkError(ctx, err)
	}
	var body struct {
		Response struct {
			SendStatusSet []tencentStatus
			RequestId     string
		}
	}
	if err := json.Unmarshal(resp.GetBody(), &body); err != nil || len(body.Response.SendStatusSet) != 1 {
		return "", &Error{Provider: t.name, Code: "InvalidResponse", Message: "SendSms reply without one SendStatusSet entry", Class: Temporary, Err: err}
	}
	st := body.Response.SendStatusSet[0]
	if st.Code != "Ok" {
		return "", &Error{Provider: t.name, Code: st.Code, Message: st.Message, HTTPStatus: http.StatusOK, RequestID: body.Response.RequestId, Class: tencentClass(st.Code)}
	}
	return st.SerialNo, nil
}

// sdkError classifies an error of the common client: an API error by its
// code, a non-200 reply or a network failure as Temporary.
func (t *Tencent) sdkError(ctx context.Context, err error) error {
	var te *tcerr.TencentCloudSDKError
	if errors.As(err, &te) && !strings.HasPrefix(te.GetCode(), "ClientError.") {
		return &Error{Provider: t.name, Code: te.GetCode(), Message: te.GetMessage(), HTTPStatus: http.StatusOK, RequestID: te.GetRequestId(), Class: tencentClass(te.GetCode())}
	}
	if ctx.Err() != nil || te == nil {
		return transportError(ctx, t.name, err)
	}
	return &Error{Provider: t.name, Code: te.GetCode(), Message: firstLine(te.GetMessage()), Class: Temporary, Err: err}
}

// tencentPhone is the E.164 form Tencent takes: numbers without '+' are
// taken as mainland China numbers.
func tencentPhone(phone string) string {
	if strings.HasPrefix(phone, "+") {
		return phone
	}
	return "+86" + phone
}

// tencentClass maps a Tencent error code to a Class.
func tencentClass(code string) Class {
	switch {
	case strings.HasPrefix(code, "LimitExceeded.PhoneNumber"), code == "LimitExceeded.DeliveryFrequencyLimit":
		return Throttled
	case code == "RequestLimitExceeded", strings.HasPrefix(code, "RequestLimitExceeded."),
		strings.HasPrefix(code, "InternalError"), code == "ResourceUnavailable", code == "FailedOperation.JsonParseFail":
		return Temporary
	case strings.HasPrefix(code, "AuthFailure"), strings.HasPrefix(code, "UnauthorizedOperation"),
		code == "FailedOperation.InsufficientBalanceInSmsPackage", code == "FailedOperation.TemplateIncorrectOrUnapproved",
		code == "FailedOperation.SignatureIncorrectOrUnapproved", code == "FailedOperation.MissingSignature",
		code == "FailedOperation.MissingTemplateToModify", code == "LimitExceeded.AppDailyLimit",
		code == "LimitExceeded.AppCountryOrRegionDailyLimit", code == "LimitExceeded.AppMainlandChinaDailyLimit",
		code == "LimitExceeded.AppGlobalDailyLimit", code == "InvalidParameterValue.SdkAppIdNotExist":
		return Account
	case strings.HasPrefix(code, "InvalidParameter"), strings.HasPrefix(code, "UnsupportedOperation"),
		code == "FailedOperation.PhoneNumberInBlacklist", code == "FailedOperation.ContainSensitiveWord",
		code == "FailedOperation.PhoneNumberParseFail", code == "FailedOperation.FailResolvePacket",
		code == "MissingParameter", code == "LimitExceeded.PhoneNumberCountLimit":
		return Permanent
	}
	return Temporary
}

// firstLine cuts s at its first newline and to 200 bytes: the SDK puts whole
// reply bodies into its messages.
func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
