package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Receipt is a provider's report of whether a message reached the phone.
type Receipt struct {
	Provider string // configured provider name (from the URL)
	// MessageID is the gateway's message id when the provider echoes it
	// (Aliyun out_id); empty for Tencent, whose receipts carry only the
	// provider id.
	MessageID string
	// ProviderID is the provider's id of the message (Aliyun biz_id,
	// Tencent sid), as Router.Send returned it.
	ProviderID  string
	Phone       string
	Delivered   bool
	Code        string    // the provider's status code: DELIVERED, DELIVRD, or a failure code
	Description string    // the provider's text for it
	At          time.Time // when the phone received it (or the report time), UTC
}

// ReceiptOutcome is what a sink did with one receipt.
type ReceiptOutcome int

// The receipt outcomes.
const (
	Applied   ReceiptOutcome = iota // the record moved to delivered or undelivered
	Duplicate                       // the record already had its final status: nothing changed
	Unknown                         // no record matches: acknowledged and counted, not an error
)

func (o ReceiptOutcome) String() string {
	return [...]string{"applied", "duplicate", "unknown"}[o]
}

// ReceiptSink applies receipts to the message records. The durable store
// implements it.
//
// ApplyReceipt must be idempotent: a receipt for a record that already has
// a final delivery status changes nothing and returns Duplicate. It matches
// the record by (Provider, ProviderID) and, when that is unknown, by
// MessageID; a receipt matching no record returns Unknown. An error means
// the receipt could not be stored now: the handler answers 500 and the
// provider pushes it again later.
type ReceiptSink interface {
	ApplyReceipt(ctx context.Context, r Receipt) (ReceiptOutcome, error)
}

// chinaTime is the zone of the providers' receipt timestamps (UTC+8, no DST).
var chinaTime = time.FixedZone("CST", 8*60*60)

const receiptTimeLayout = "2006-01-02 15:04:05"

// aliyunReport is one element of Aliyun's SmsReport push.
type aliyunReport struct {
	PhoneNumber string `json:"phone_number"`
	SendTime    string `json:"send_time"`
	ReportTime  string `json:"report_time"`
	Success     *bool  `json:"success"`
	ErrCode     string `json:"err_code"`
	ErrMsg      string `json:"err_msg"`
	SmsSize     string `json:"sms_size"`
	BizID       string `json:"biz_id"`
	OutID       string `json:"out_id"`
}

// tencentReport is one element of Tencent's status callback.
type tencentReport struct {
	UserReceiveTime string `json:"user_receive_time"`
	NationCode      string `json:"nationcode"`
	Mobile          string `json:"mobile"`
	ReportStatus    string `json:"report_status"`
	ErrMsg          string `json:"errmsg"`
	Description     string `json:"description"`
	SID             string `json:"sid"`
}

// errMalformed is wrapped by the errors of ParseReceipts.
var errMalformed = errors.New("malformed receipt push")

// ParseReceipts parses one push of the given provider kind: a JSON array of
// Aliyun SmsReport or Tencent callback objects. name is the configured
// provider name the receipts are attributed to.
func ParseReceipts(kind Kind, name string, body []byte) ([]Receipt, error) {
	switch kind {
	case KindAliyun:
		var rs []aliyunReport
		if err := json.Unmarshal(body, &rs); err != nil {
			return nil, fmt.Errorf("%w: %v", errMalformed, err)
		}
		out := make([]Receipt, 0, len(rs))
		for i, r := range rs {
			if r.BizID == "" || r.Success == nil {
				return nil, fmt.Errorf("%w: element %d lacks biz_id or success", errMalformed, i)
			}
			at, err := receiptTime(orDefault(r.ReportTime, r.SendTime))
			if err != nil {
				return nil, fmt.Errorf("%w: element %d: %v", errMalformed, i, err)
			}
			out = append(out, Receipt{Provider: name, MessageID: r.OutID, ProviderID: r.BizID, Phone: r.PhoneNumber,
				Delivered: *r.Success, Code: r.ErrCode, Description: r.ErrMsg, At: at})
		}
		return out, nil
	case KindTencent:
		var rs []tencentReport
		if err := json.Unmarshal(body, &rs); err != nil {
			return nil, fmt.Errorf("%w: %v", errMalformed, err)
		}
		out := make([]Receipt, 0, len(rs))
		for i, r := range rs {
			if r.SID == "" || (r.ReportStatus != "SUCCESS" && r.ReportStatus != "FAIL") {
				return nil, fmt.Errorf("%w: element %d lacks sid or a report_status of SUCCESS or FAIL", errMalformed, i)
			}
			at, err := receiptTime(r.UserReceiveTime)
			if err != nil {
				return nil, fmt.Errorf("%w: element %d: %v", errMalformed, i, err)
			}
			out = append(out, Receipt{Provider: name, ProviderID: r.SID, Phone: "+" + r.NationCode + r.Mobile,
				Delivered: r.ReportStatus == "SUCCESS", Code: r.ErrMsg, Description: r.Description, At: at})
		}
		return out, nil
	}
	return nil, fmt.Errorf("provider kind %q sends no receipts", kind)
}

// receiptTime parses a receipt timestamp (China time) into UTC; empty is
// the zero time.
func receiptTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.ParseInLocation(receiptTimeLayout, s, chinaTime)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q: want YYYY-MM-DD hh:mm:ss", s)
	}
	return t.UTC(), nil
}
