package providertest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Tencent is a loopback fake of Tencent Cloud SMS (API 2021-01-11) that
// checks every call the way the service does: the TC3-HMAC-SHA256
// Authorization (canonical request over the signed headers and the payload
// hash, credential scope date/sms/tc3_request matching X-TC-Timestamp,
// the derived signing key), the SecretId and the timestamp's freshness —
// computed here, not by the SDK — and answers with the service's JSON.
type Tencent struct {
	base
	keys    map[string]string // SecretId → SecretKey
	appID   string
	maxSkew time.Duration
}

// TencentOptions configures NewTencent.
type TencentOptions struct {
	Keys     map[string]string // SecretId → SecretKey accepted
	SDKAppID string            // the SmsSdkAppId accepted
	MaxSkew  time.Duration     // accepted distance of X-TC-Timestamp from now; 5 minutes when zero
	Now      func() time.Time
}

// NewTencent starts the fake; it stops when the test ends.
func NewTencent(tb testing.TB, o TencentOptions) *Tencent {
	t := &Tencent{keys: o.Keys, appID: o.SDKAppID, maxSkew: o.MaxSkew}
	if t.maxSkew == 0 {
		t.maxSkew = 5 * time.Minute
	}
	t.now = o.Now
	t.start(tb, http.HandlerFunc(t.serve))
	return t
}

func (t *Tencent) fail(w http.ResponseWriter, code, msg string) {
	b, _ := json.Marshal(map[string]any{"Response": map[string]any{
		"Error": map[string]string{"Code": code, "Message": msg}, "RequestId": t.requestID()}})
	writeJSON(w, http.StatusOK, b)
}

type tencentSendSms struct {
	PhoneNumberSet   []string
	SmsSdkAppId      string
	SignName         string
	TemplateId       string
	TemplateParamSet []string
	SessionContext   string
}

func (t *Tencent) serve(w http.ResponseWriter, r *http.Request) {
	t.calls.Add(1)
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	if code, msg := t.authenticate(r, body); code != "" {
		t.rejected.Add(1)
		t.fail(w, code, msg)
		return
	}
	if r.Header.Get("X-TC-Action") != "SendSms" || r.Header.Get("X-TC-Version") != "2021-01-11" {
		t.fail(w, "InvalidAction", "The requested action does not exist.")
		return
	}
	switch t.currentMode() {
	case Fail:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "<html><body>503 Service Unavailable</body></html>")
		return
	case Throttle:
		t.fail(w, "RequestLimitExceeded", "Your current request times equals to `20` in a second, which exceeds the frequency limit `20` for a second. Please reduce the frequency of calls.")
		return
	case Hang:
		t.hang(r)
		return
	}
	var req tencentSendSms
	if err := json.Unmarshal(body, &req); err != nil {
		t.fail(w, "FailedOperation.JsonParseFail", "Failed to parse the request package.")
		return
	}
	if req.SmsSdkAppId != t.appID {
		t.fail(w, "InvalidParameterValue.SdkAppIdNotExist", "The SdkAppId does not exist.")
		return
	}
	if len(req.PhoneNumberSet) != 1 || req.TemplateId == "" || req.SignName == "" {
		t.fail(w, "MissingParameter", "one phone number, TemplateId and SignName are required by this fake")
		return
	}
	phone := req.PhoneNumberSet[0]
	status := map[string]any{"PhoneNumber": phone, "SessionContext": req.SessionContext, "IsoCode": "CN", "Fee": 0, "SerialNo": ""}
	now := t.now()
	if t.isIllegal(phone) || !strings.HasPrefix(phone, "+") || strings.Trim(phone[1:], "0123456789") != "" {
		status["Code"], status["Message"] = "InvalidParameterValue.IncorrectPhoneNumber", "incorrect phone number"
	} else {
		serial := fmt.Sprintf("5000:%d", 1045710669157053657+t.seq.Add(1))
		status["Code"], status["Message"], status["Fee"], status["SerialNo"] = "Ok", "send success", 1, serial
		s := Sent{Phone: phone, OutID: req.SessionContext, TemplateCode: req.TemplateId, SignName: req.SignName, Params: strings.Join(req.TemplateParamSet, ","), ProviderID: serial, At: now}
		t.accept(s, func(delivered bool) []byte { return TencentReport(s, delivered, now) })
	}
	b, _ := json.Marshal(map[string]any{"Response": map[string]any{"SendStatusSet": []any{status}, "RequestId": t.requestID()}})
	writeJSON(w, http.StatusOK, b)
}

// authenticate checks the TC3-HMAC-SHA256 signature of r; it returns the
// service's error code and message, or "" when the call is authentic.
func (t *Tencent) authenticate(r *http.Request, body []byte) (code, msg string) {
	auth := r.Header.Get("Authorization")
	alg, rest, ok := strings.Cut(auth, " ")
	if !ok || alg != "TC3-HMAC-SHA256" {
		return "AuthFailure.InvalidAuthorization", "Authorization header is invalid."
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 4 || scope[3] != "tc3_request" || fields["SignedHeaders"] == "" || fields["Signature"] == "" {
		return "AuthFailure.InvalidAuthorization", "Authorization header is invalid."
	}
	secretID, date, service := scope[0], scope[1], scope[2]
	secretKey, ok := t.keys[secretID]
	if !ok {
		return "AuthFailure.SecretIdNotFound", "The SecretId is not found, please ensure that your SecretId is correct."
	}
	ts, err := strconv.ParseInt(r.Header.Get("X-TC-Timestamp"), 10, 64)
	if err != nil {
		return "AuthFailure.InvalidAuthorization", "X-TC-Timestamp is invalid."
	}
	if d := t.now().Sub(time.Unix(ts, 0)); d > t.maxSkew || d < -t.maxSkew {
		return "AuthFailure.SignatureExpire", "Signature expired. Timestamp and server time cannot differ by more than five minutes."
	}
	if date != time.Unix(ts, 0).UTC().Format("2006-01-02") || service != "sms" {
		return "AuthFailure.SignatureFailure", "The provided credentials could not be validated because of exceeding request size limit, please check your signature is correct."
	}
	signed := strings.Split(fields["SignedHeaders"], ";")
	if !contains(signed, "content-type") || !contains(signed, "host") {
		return "AuthFailure.SignatureFailure", "content-type and host must be signed."
	}
	want := TencentSignature(r.Method, r.URL.RawQuery, r.Host, r.Header, signed, body, secretKey, service, ts)
	if !hmac.Equal([]byte(want), []byte(fields["Signature"])) {
		return "AuthFailure.SignatureFailure", "The provided credentials could not be validated. Please check your signature is correct."
	}
	return "", ""
}

// TencentSignature computes the TC3-HMAC-SHA256 signature: the canonical
// request METHOD \n / \n QUERY \n (name:value\n per signed header, names
// and values lower-cased and trimmed) \n SIGNED-HEADERS \n hex(sha256(body));
// the string to sign "TC3-HMAC-SHA256\nTS\nDATE/SERVICE/tc3_request\n"
// + hex(sha256(canonical request)); the key HMAC chain "TC3"+key → date →
// service → "tc3_request"; the signature hex(HMAC(key, string to sign)).
func TencentSignature(method, rawQuery, host string, h http.Header, signed []string, body []byte, secretKey, service string, ts int64) string {
	var canonHeaders strings.Builder
	for _, name := range signed {
		v := h.Get(name)
		if name == "host" {
			v = host
		}
		canonHeaders.WriteString(name + ":" + strings.ToLower(strings.TrimSpace(v)) + "\n")
	}
	payload := sha256.Sum256(body)
	canonical := strings.Join([]string{method, "/", rawQuery, canonHeaders.String(), strings.Join(signed, ";"), hex.EncodeToString(payload[:])}, "\n")
	date := time.Unix(ts, 0).UTC().Format("2006-01-02")
	hashed := sha256.Sum256([]byte(canonical))
	stringToSign := "TC3-HMAC-SHA256\n" + strconv.FormatInt(ts, 10) + "\n" + date + "/" + service + "/tc3_request\n" + hex.EncodeToString(hashed[:])
	key := hmacSHA256([]byte("TC3"+secretKey), date)
	key = hmacSHA256(key, service)
	key = hmacSHA256(key, "tc3_request")
	return hex.EncodeToString(hmacSHA256(key, stringToSign))
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TencentReport is the status callback push for s: a JSON array of one report.
func TencentReport(s Sent, delivered bool, at time.Time) []byte {
	status, code, desc := "SUCCESS", "DELIVRD", "用户短信送达成功"
	if !delivered {
		status, code, desc = "FAIL", "MK:0001", "用户关机或不在服务区"
	}
	nation, mobile := "86", strings.TrimPrefix(s.Phone, "+86")
	b, _ := json.Marshal([]map[string]string{{
		"user_receive_time": at.In(time.FixedZone("CST", 8*3600)).Format("2006-01-02 15:04:05"),
		"nationcode":        nation, "mobile": mobile, "report_status": status, "errmsg": code, "description": desc, "sid": s.ProviderID,
	}})
	return b
}
