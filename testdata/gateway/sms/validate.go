package sms

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// SendRequest is the body of POST /api/sms/send. Exactly one of Template and
// Content is set; Params goes with Template only. SendAt, when set, is an
// RFC 3339 time at most MaxScheduleAhead ahead: the message is kept in the
// store until then (parseSendAt).
type SendRequest struct {
	Phone    string            `json:"phone"`
	Template string            `json:"template,omitempty"`
	Params   map[string]string `json:"params,omitempty"`
	Content  string            `json:"content,omitempty"`
	SendAt   string            `json:"send_at,omitempty"`
}

// FieldError is a validation failure of one request field. Field is the JSON
// name ("params.code" for a template parameter), empty for the body as a whole.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Phone-number bounds: an optional leading '+' and then only digits, as many
// as E.164 allows (at most 15) and at least 8, the shortest national numbers
// in use. Spaces, dashes and brackets are refused rather than guessed at.
const (
	MinPhoneDigits = 8
	MaxPhoneDigits = 15
)

// NormalizePhone checks phone and returns its digits without the '+', the key
// under which the rate limit counts ("+4915..." and "4915..." are one phone).
func NormalizePhone(phone string) (string, error) {
	digits := strings.TrimPrefix(phone, "+")
	if phone == "" {
		return "", fieldErr("phone", "is required")
	}
	for _, r := range digits {
		if r < '0' || r > '9' {
			return "", fieldErr("phone", "must be an optional '+' followed by digits only, such as +4915112345678")
		}
	}
	if n := len(digits); n < MinPhoneDigits || n > MaxPhoneDigits {
		return "", fieldErr("phone", "must have %d to %d digits, has %d", MinPhoneDigits, MaxPhoneDigits, n)
	}
	return digits, nil
}

// validated is a request that passed validation: the text to send and the
// rate-limit key.
type validated struct {
	phoneKey string
	text     string
}

// validate checks r against the templates and the content limit and renders
// the message text.
func validate(r SendRequest, templates map[string]Template, maxRunes int) (validated, error) {
	key, err := NormalizePhone(r.Phone)
	if err != nil {
		return validated{}, err
	}
	var text string
	switch {
	case r.Template != "" && r.Content != "":
		return validated{}, fieldErr("content", "give either template or content, not both")
	case r.Template == "" && r.Content == "":
		return validated{}, fieldErr("template", "give either template (with params) or content")
	case r.Content != "":
		if r.Params != nil {
			return validated{}, fieldErr("params", "only allowed with template")
		}
		text = r.Content
	default:
		t, ok := templates[r.Template]
		if !ok {
			return validated{}, fieldErr("template", "unknown template %q; known: %s", r.Template, strings.Join(sortedKeys(templates), ", "))
		}
		if err := checkParams(t, r.Params); err != nil {
			return validated{}, err
		}
		text = t.Render(r.Params)
	}
	if strings.TrimSpace(text) == "" {
		return validated{}, fieldErr("content", "must not be blank")
	}
	if !utf8.ValidString(text) {
		return validated{}, fieldErr("content", "must be valid UTF-8")
	}
	if n := utf8.RuneCountInString(text); n > maxRunes {
		field := "content"
		if r.Template != "" {
			field = "params"
		}
		return validated{}, fieldErr(field, "message is %d characters, the limit is %d", n, maxRunes)
	}
	return validated{phoneKey: key, text: text}, nil
}

// checkParams requires every placeholder of t, non-blank, and nothing else.
func checkParams(t Template, params map[string]string) error {
	want := t.Params()
	for _, name := range want {
		if strings.TrimSpace(params[name]) == "" {
			return fieldErr("params."+name, "is required by template %q", t.Name)
		}
	}
	for _, name := range sortedKeys(params) {
		if !slices.Contains(want, name) {
			return fieldErr("params."+name, "is not used by template %q (it takes: %s)", t.Name, strings.Join(want, ", "))
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
