package sms

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestNormalizePhone(t *testing.T) {
	good := map[string]string{
		"+4915112345678":   "4915112345678",
		"4915112345678":    "4915112345678",
		"12345678":         "12345678",        // shortest
		"+123456789012345": "123456789012345", // E.164 maximum
	}
	for in, want := range good {
		got, err := NormalizePhone(in)
		if err != nil || got != want {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := []string{"", "+", "1234567", "+1234567890123456", "++4915112345678", "+49 151 12345678", "+49-151-1234567", "0x12345678", "４９１５１１２３４５６７"}
	for _, in := range bad {
		_, err := NormalizePhone(in)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != "phone" {
			t.Errorf("NormalizePhone(%q) = %v; want a FieldError on phone", in, err)
		}
	}
}

func TestValidate(t *testing.T) {
	tpl := BuiltinTemplates()
	long := strings.Repeat("é", 481)
	cases := []struct {
		name      string
		req       SendRequest
		wantField string // "" means valid
		wantText  string
	}{
		{"content", SendRequest{Phone: "+4915112345678", Content: "hello"}, "", "hello"},
		{"template", SendRequest{Phone: "4915112345678", Template: "order_shipped", Params: map[string]string{"order_id": "A-17", "carrier": "DHL"}}, "", "Your order A-17 has shipped with DHL."},
		{"content at limit", SendRequest{Phone: "+4915112345678", Content: long[:480*2]}, "", long[:480*2]},
		{"bad phone", SendRequest{Phone: "12", Content: "x"}, "phone", ""},
		{"neither", SendRequest{Phone: "+4915112345678"}, "template", ""},
		{"both", SendRequest{Phone: "+4915112345678", Template: "verify_code", Content: "x"}, "content", ""},
		{"params with content", SendRequest{Phone: "+4915112345678", Content: "x", Params: map[string]string{"a": "b"}}, "params", ""},
		{"unknown template", SendRequest{Phone: "+4915112345678", Template: "nope"}, "template", ""},
		{"missing param", SendRequest{Phone: "+4915112345678", Template: "order_shipped", Params: map[string]string{"order_id": "1"}}, "params.carrier", ""},
		{"blank param", SendRequest{Phone: "+4915112345678", Template: "verify_code", Params: map[string]string{"code": "  "}}, "params.code", ""},
		{"extra param", SendRequest{Phone: "+4915112345678", Template: "verify_code", Params: map[string]string{"code": "1", "x": "2"}}, "params.x", ""},
		{"blank content", SendRequest{Phone: "+4915112345678", Content: " \n"}, "content", ""},
		{"content too long", SendRequest{Phone: "+4915112345678", Content: long}, "content", ""},
		{"rendered too long", SendRequest{Phone: "+4915112345678", Template: "verify_code", Params: map[string]string{"code": long}}, "params", ""},
		{"invalid utf-8", SendRequest{Phone: "+4915112345678", Content: "a\xffb"}, "content", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := validate(c.req, tpl, DefaultMaxContentRunes)
			if c.wantField == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				if v.text != c.wantText {
					t.Errorf("text = %q, want %q", v.text, c.wantText)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a FieldError", err)
			}
			if fe.Field != c.wantField {
				t.Errorf("field = %q (%v), want %q", fe.Field, fe, c.wantField)
			}
		})
	}
}

func TestTemplateParamsAndRender(t *testing.T) {
	tp := Template{Name: "t", Text: "{a} and {b}, again {a}; stray { brace"}
	if got, want := tp.Params(), []string{"a", "b"}; !slices.Equal(got, want) {
		t.Fatalf("Params = %v, want %v", got, want)
	}
	// Values are inserted once, never expanded again.
	got := tp.Render(map[string]string{"a": "{b}", "b": "B"})
	if want := "{b} and B, again {b}; stray { brace"; got != want {
		t.Fatalf("Render = %q, want %q", got, want)
	}
}

func TestBuiltinTemplatesTakeParams(t *testing.T) {
	for name, tp := range BuiltinTemplates() {
		if name != tp.Name || len(tp.Params()) == 0 {
			t.Errorf("template %q: name %q, params %v", name, tp.Name, tp.Params())
		}
	}
	if got := BuiltinTemplates()["order_shipped"].Params(); !slices.Equal(got, []string{"order_id", "carrier"}) {
		t.Errorf("order_shipped params = %v", got)
	}
}
