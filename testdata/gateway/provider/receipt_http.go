package provider

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
)

// ReceiptPattern is the ServeMux pattern of the receipts endpoint.
const ReceiptPattern = "POST /api/sms/receipts/{provider}"

// MaxReceiptBody bounds one receipt push (a push carries many receipts).
const MaxReceiptBody = 1 << 20

// ReceiptEndpoint is one provider's receipt configuration.
type ReceiptEndpoint struct {
	Kind Kind
	// Token authenticates the pushes: neither Aliyun's SmsReport HTTP push
	// nor Tencent's status callback signs its requests, so the callback URL
	// configured in the provider's console carries a secret token,
	// https://gateway.example/api/sms/receipts/NAME?token=TOKEN. A provider
	// without a token accepts no receipts.
	Token Secret
}

// ReceiptHandler serves ReceiptPattern: it authenticates a push by the
// provider's token, parses it, and hands each receipt to the sink.
//
//	401  unknown provider, no token configured, missing or wrong token
//	400  a body that is not the provider's receipt format (nothing applied)
//	413  a body over MaxReceiptBody
//	500  the sink failed: the provider pushes again later; receipts of the
//	     push applied before the failure stay applied (the sink is idempotent)
//	200  the provider's acknowledgement: Aliyun {"code":0,"msg":"成功"},
//	     Tencent {"result":0,"errmsg":"OK"}
type ReceiptHandler struct {
	endpoints map[string]ReceiptEndpoint
	sink      ReceiptSink
	log       *slog.Logger

	pushes, unauthorized, malformed, failed atomic.Int64
	applied, duplicate, unknown             atomic.Int64
}

// ReceiptStats are the handler's counters.
type ReceiptStats struct {
	Pushes       int64 `json:"pushes"`       // authenticated, well-formed pushes
	Unauthorized int64 `json:"unauthorized"` // answered 401
	Malformed    int64 `json:"malformed"`    // answered 400 or 413
	Failed       int64 `json:"failed"`       // answered 500
	Applied      int64 `json:"applied"`
	Duplicate    int64 `json:"duplicate"`
	Unknown      int64 `json:"unknown"`
}

// NewReceiptHandler returns the handler for the named providers' receipts.
// log may be nil.
func NewReceiptHandler(endpoints map[string]ReceiptEndpoint, sink ReceiptSink, log *slog.Logger) *ReceiptHandler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &ReceiptHandler{endpoints: endpoints, sink: sink, log: log}
}

func (h *ReceiptHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("provider")
	ep, ok := h.endpoints[name]
	if !ok || ep.Token.IsZero() || !ep.Token.Equal(r.URL.Query().Get("token")) {
		h.unauthorized.Add(1)
		h.log.Warn("receipts: unauthorized push", "provider", name, "remote", r.RemoteAddr)
		writeJSON(w, http.StatusUnauthorized, `{"error":"unauthorized"}`)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxReceiptBody))
	if err != nil {
		h.malformed.Add(1)
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeJSON(w, http.StatusRequestEntityTooLarge, `{"error":"body too large"}`)
			return
		}
		writeJSON(w, http.StatusBadRequest, `{"error":"cannot read body"}`)
		return
	}
	receipts, err := ParseReceipts(ep.Kind, name, body)
	if err != nil {
		h.malformed.Add(1)
		h.log.Warn("receipts: malformed push", "provider", name, "error", err)
		writeJSON(w, http.StatusBadRequest, `{"error":"malformed receipts"}`)
		return
	}
	h.pushes.Add(1)
	for _, rc := range receipts {
		outcome, err := h.sink.ApplyReceipt(r.Context(), rc)
		if err != nil {
			h.failed.Add(1)
			h.log.Error("receipts: cannot apply", "provider", name, "provider_id", rc.ProviderID, "error", err)
			writeJSON(w, http.StatusInternalServerError, nack(ep.Kind))
			return
		}
		switch outcome {
		case Applied:
			h.applied.Add(1)
		case Duplicate:
			h.duplicate.Add(1)
		case Unknown:
			h.unknown.Add(1)
			h.log.Info("receipts: unknown message", "provider", name, "provider_id", rc.ProviderID, "message_id", rc.MessageID)
		}
	}
	writeJSON(w, http.StatusOK, ack(ep.Kind))
}

// Stats returns the handler's counters.
func (h *ReceiptHandler) Stats() ReceiptStats {
	return ReceiptStats{
		Pushes: h.pushes.Load(), Unauthorized: h.unauthorized.Load(), Malformed: h.malformed.Load(), Failed: h.failed.Load(),
		Applied: h.applied.Load(), Duplicate: h.duplicate.Load(), Unknown: h.unknown.Load(),
	}
}

func ack(k Kind) string {
	if k == KindAliyun {
		return `{"code":0,"msg":"成功"}`
	}
	return `{"result":0,"errmsg":"OK"}`
}

func nack(k Kind) string {
	if k == KindAliyun {
		return `{"code":1,"msg":"temporarily unable to store receipts"}`
	}
	return `{"result":1,"errmsg":"temporarily unable to store receipts"}`
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body+"\n")
}
