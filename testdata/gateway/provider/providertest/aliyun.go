package providertest

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// Aliyun is a loopback fake of Alibaba Cloud's Dysmsapi that checks every
// call the way the service does: the RPC signature v1 (HMAC-SHA1 over the
// canonicalized query, computed here from the RFC 3986 rules, not by the
// SDK), the AccessKeyId, the Timestamp's freshness and the SignatureNonce's
// uniqueness, and answers with the service's JSON shapes.
type Aliyun struct {
	base
	keys    map[string]string // AccessKeyId → AccessKeySecret
	maxSkew time.Duration
	nonceMu sync.Mutex
	nonces  map[string]time.Time
}

// AliyunOptions configures NewAliyun.
type AliyunOptions struct {
	Keys map[string]string // AccessKeyId → AccessKeySecret accepted
	// MaxSkew is the accepted distance of Timestamp from now (the service's
	// 15 minutes when zero); nonces are remembered twice as long.
	MaxSkew time.Duration
	Now     func() time.Time // time.Now when nil
}

// NewAliyun starts the fake; it stops when the test ends.
func NewAliyun(tb testing.TB, o AliyunOptions) *Aliyun {
	a := &Aliyun{keys: o.Keys, maxSkew: o.MaxSkew, nonces: map[string]time.Time{}}
	if a.maxSkew == 0 {
		a.maxSkew = 15 * time.Minute
	}
	a.now = o.Now
	a.start(tb, http.HandlerFunc(a.serve))
	return a
}

type aliyunReply struct {
	RequestId string `json:"RequestId"`
	HostId    string `json:"HostId,omitempty"`
	Code      string `json:"Code"`
	Message   string `json:"Message"`
	BizId     string `json:"BizId,omitempty"`
	Recommend string `json:"Recommend,omitempty"`
}

func (a *Aliyun) reply(w http.ResponseWriter, status int, code, msg string) {
	b, _ := json.Marshal(aliyunReply{RequestId: a.requestID(), HostId: "dysmsapi.aliyuncs.com", Code: code, Message: msg})
	writeJSON(w, status, b)
}

func (a *Aliyun) serve(w http.ResponseWriter, r *http.Request) {
	a.calls.Add(1)
	params, err := aliyunParams(r)
	if err != nil {
		a.reply(w, http.StatusBadRequest, "InvalidParameter", err.Error())
		return
	}
	if status, code, msg := a.authenticate(r.Method, params); code != "" {
		a.rejected.Add(1)
		a.reply(w, status, code, msg)
		return
	}
	if params.Get("Action") != "SendSms" || params.Get("Version") != "2017-05-25" {
		a.reply(w, http.StatusNotFound, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.")
		return
	}
	switch a.currentMode() {
	case Fail:
		a.reply(w, http.StatusServiceUnavailable, "ServiceUnavailable", "The request has failed due to a temporary failure of the server.")
		return
	case Throttle:
		a.reply(w, http.StatusBadRequest, "Throttling.User", "Request was denied due to user flow control.")
		return
	case Hang:
		a.hang(r)
		return
	}
	phone := params.Get("PhoneNumbers")
	switch {
	case phone == "" || params.Get("SignName") == "" || params.Get("TemplateCode") == "":
		a.reply(w, http.StatusOK, "isv.INVALID_PARAMETERS", "参数异常")
		return
	case a.isIllegal(phone) || strings.Trim(phone, "0123456789") != "":
		a.reply(w, http.StatusOK, "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
		return
	}
	if tp := params.Get("TemplateParam"); tp != "" && !json.Valid([]byte(tp)) {
		a.reply(w, http.StatusOK, "isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
		return
	}
	now := a.now()
	biz := fmt.Sprintf("%d^%d", 900619746936498440+a.seq.Add(1), 0)
	s := Sent{Phone: phone, OutID: params.Get("OutId"), TemplateCode: params.Get("TemplateCode"), SignName: params.Get("SignName"), Params: params.Get("TemplateParam"), ProviderID: biz, At: now}
	a.accept(s, func(delivered bool) []byte { return AliyunReport(s, delivered, now) })
	b, _ := json.Marshal(aliyunReply{RequestId: a.requestID(), Code: "OK", Message: "OK", BizId: biz})
	writeJSON(w, http.StatusOK, b)
}

// aliyunParams collects the request's parameters: the query and, for a
// form POST, the body, as the service reads them.
func aliyunParams(r *http.Request) (url.Values, error) {
	params, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("bad query: %v", err)
	}
	if r.Method == http.MethodPost {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			return nil, err
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, fmt.Errorf("bad form body: %v", err)
		}
		for k, vs := range form {
			params[k] = append(params[k], vs...)
		}
	}
	return params, nil
}

// authenticate applies the service's checks in its order and returns the
// error to answer, or code "" when the call is authentic.
func (a *Aliyun) authenticate(method string, p url.Values) (status int, code, msg string) {
	for _, k := range []string{"AccessKeyId", "Signature", "SignatureMethod", "SignatureVersion", "SignatureNonce", "Timestamp"} {
		if len(p[k]) != 1 || p.Get(k) == "" {
			return http.StatusBadRequest, "MissingParameter", "The input parameter \"" + k + "\" that is mandatory for processing this request is not supplied."
		}
	}
	secret, ok := a.keys[p.Get("AccessKeyId")]
	if !ok {
		return http.StatusNotFound, "InvalidAccessKeyId.NotFound", "Specified access key is not found."
	}
	if p.Get("SignatureMethod") != "HMAC-SHA1" || p.Get("SignatureVersion") != "1.0" {
		return http.StatusBadRequest, "InvalidSignatureMethod", "Specified signature method is not supported."
	}
	ts, err := time.Parse("2006-01-02T15:04:05Z", p.Get("Timestamp"))
	if err != nil {
		return http.StatusBadRequest, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted."
	}
	now := a.now()
	if d := now.Sub(ts); d > a.maxSkew || d < -a.maxSkew {
		return http.StatusBadRequest, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired."
	}
	want := AliyunSignature(method, p, secret)
	if !hmac.Equal([]byte(want), []byte(p.Get("Signature"))) {
		return http.StatusBadRequest, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation."
	}
	if !a.useNonce(p.Get("AccessKeyId")+"/"+p.Get("SignatureNonce"), now) {
		return http.StatusBadRequest, "SignatureNonceUsed", "Specified signature nonce was used already."
	}
	return 0, "", ""
}

// useNonce records nonce and reports whether it was fresh; nonces older
// than twice the skew are forgotten (their timestamps are stale by then).
func (a *Aliyun) useNonce(nonce string, now time.Time) bool {
	a.nonceMu.Lock()
	defer a.nonceMu.Unlock()
	for n, t := range a.nonces {
		if now.Sub(t) > 2*a.maxSkew {
			delete(a.nonces, n)
		}
	}
	if _, used := a.nonces[nonce]; used {
		return false
	}
	a.nonces[nonce] = now
	return true
}

// AliyunSignature computes the RPC signature v1 of a request with the
// given parameters: StringToSign = METHOD & enc("/") & enc(canonicalized
// query), the canonicalized query being the parameters except Signature,
// sorted by name, each enc(name)=enc(value), joined by &; the signature is
// base64(HMAC-SHA1(secret + "&", StringToSign)). enc is RFC 3986
// percent-encoding (unreserved characters kept, everything else %XX).
func AliyunSignature(method string, params url.Values, secret string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "Signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var pairs []string
	for _, k := range keys {
		for _, v := range params[k] {
			pairs = append(pairs, percentEncode(k)+"="+percentEncode(v))
		}
	}
	stringToSign := method + "&" + percentEncode("/") + "&" + percentEncode(strings.Join(pairs, "&"))
	mac := hmac.New(sha1.New, []byte(secret+"&"))
	mac.Write([]byte(stringToSign))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// percentEncode is RFC 3986 encoding: A-Z a-z 0-9 - _ . ~ stay, every
// other byte becomes %XX with upper-case hex.
func percentEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// AliyunReport is the SmsReport push for s: a JSON array of one report.
func AliyunReport(s Sent, delivered bool, at time.Time) []byte {
	code, msg := "DELIVERED", "用户接收成功"
	if !delivered {
		code, msg = "MK:0001", "用户关机或不在服务区"
	}
	cst := time.FixedZone("CST", 8*3600)
	b, _ := json.Marshal([]map[string]any{{
		"phone_number": s.Phone, "send_time": s.At.In(cst).Format("2006-01-02 15:04:05"),
		"report_time": at.In(cst).Format("2006-01-02 15:04:05"), "success": delivered,
		"err_code": code, "err_msg": msg, "sms_size": "1", "biz_id": s.ProviderID, "out_id": s.OutID,
	}})
	return b
}
