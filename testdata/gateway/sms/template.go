package sms

import (
	"slices"
	"strings"
)

// Template is a named message text with {param} placeholders. Every
// placeholder is a required parameter; parameters it does not name are refused.
type Template struct {
	Name string
	Text string
}

// Params returns the placeholder names of t in order of first appearance.
func (t Template) Params() []string {
	var names []string
	rest := t.Text
	for {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			return names
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return names
		}
		name := rest[open+1 : open+end]
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
		rest = rest[open+end+1:]
	}
}

// Render substitutes params into t. The caller has checked that params holds
// exactly t.Params().
func (t Template) Render(params map[string]string) string {
	pairs := make([]string, 0, 2*len(params))
	for k, v := range params {
		pairs = append(pairs, "{"+k+"}", v)
	}
	return strings.NewReplacer(pairs...).Replace(t.Text)
}

// BuiltinTemplates returns the templates the gateway ships, keyed by name.
// Each call returns a fresh map, so callers may modify it.
func BuiltinTemplates() map[string]Template {
	list := []Template{
		{"verify_code", "Your verification code is {code}. It expires in 10 minutes."},
		{"order_shipped", "Your order {order_id} has shipped with {carrier}."},
		{"appointment_reminder", "Reminder: your appointment is on {date} at {time}."},
		{"password_reset", "Use {code} to reset your password. If you did not ask for it, ignore this message."},
	}
	m := make(map[string]Template, len(list))
	for _, t := range list {
		m[t.Name] = t
	}
	return m
}
