package tars

import (
	"errors"
	"testing"
)

func tupRequest(version int16, cmd string) *RequestPacket {
	a := NewTUP(version)
	a.PutString(TUPAttrCommand, cmd)
	return &RequestPacket{IVersion: version, IRequestID: 9, SServantName: "App.Server.AdminObj",
		SFuncName: FuncNotify, SBuffer: a.Encode()}
}

func TestNotifyCommand(t *testing.T) {
	plain := &RequestPacket{IVersion: VersionTARS, SFuncName: FuncNotify,
		SBuffer: Marshal(&NotifyArgs{Command: "tars.viewstatus"})}
	for _, req := range []*RequestPacket{plain, tupRequest(VersionTUPSimple, "tars.viewstatus"), tupRequest(VersionTUPComplex, "tars.viewstatus")} {
		// Through the wire, so the decoder sees what a peer sends.
		p, err := DecodeRequestPacket(Marshal(req))
		if err != nil {
			t.Fatal(err)
		}
		cmd, err := NotifyCommand(p)
		if err != nil || cmd != "tars.viewstatus" {
			t.Fatalf("v%d: %q %v", req.IVersion, cmd, err)
		}
	}
}

func TestNotifyCommandErrors(t *testing.T) {
	noCmd := NewTUP(VersionTUPSimple)
	noCmd.PutInt32("other", 1)
	wrongType := NewTUP(VersionTUPComplex)
	wrongType.PutInt32(TUPAttrCommand, 1)
	tests := []struct {
		name string
		req  *RequestPacket
		want error
	}{
		{"v3 missing attr", &RequestPacket{IVersion: 3, SBuffer: noCmd.Encode()}, ErrTUP},
		{"v2 wrong type", &RequestPacket{IVersion: 2, SBuffer: wrongType.Encode()}, ErrTUP},
		{"v3 garbage", &RequestPacket{IVersion: 3, SBuffer: []byte{0xff}}, ErrTruncated},
		{"v2 garbage", &RequestPacket{IVersion: 2, SBuffer: []byte{0x08, 0x0c, 0x01}}, ErrTUP},
		{"v1 empty", &RequestPacket{IVersion: 1}, ErrRequired},
		{"json", &RequestPacket{IVersion: VersionJSON}, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NotifyCommand(tt.req); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestTUPResponse(t *testing.T) {
	for _, v := range []int16{VersionTUPSimple, VersionTUPComplex} {
		req := tupRequest(v, "x")
		attrs := NewTUP(v)
		attrs.PutString("", "reply")
		attrs.PutString("tars_ret", "reply")
		resp := NewTUPResponse(req, ServerSuccess, "", attrs)
		p, err := DecodeRequestPacket(Marshal(resp))
		if err != nil {
			t.Fatal(err)
		}
		if p.IVersion != v || p.IRequestID != 9 || p.SFuncName != FuncNotify || p.Status[StatusResultCode] != "0" {
			t.Fatalf("v%d: %+v", v, p)
		}
		a, err := DecodeTUP(p.IVersion, p.SBuffer)
		if err != nil {
			t.Fatal(err)
		}
		if s, err := a.String(""); err != nil || s != "reply" {
			t.Fatalf("v%d: %q %v", v, s, err)
		}
		if n := a.Names(); len(n) != 2 {
			t.Fatalf("names %v", n)
		}
		raw, typ, ok := a.Get("")
		if !ok || len(raw) == 0 || (v == VersionTUPComplex) != (typ == TUPTypeString) {
			t.Fatalf("Get: %x %q %v", raw, typ, ok)
		}
	}
	// An error reply with no attributes still carries an empty map.
	resp := NewTUPResponse(tupRequest(3, "x"), ServerNoFuncErr, "no such function", nil)
	a, err := DecodeTUP(3, resp.SBuffer)
	if err != nil || len(a.Names()) != 0 || resp.Status[StatusResultCode] != "-3" || resp.Status[StatusResultDesc] == "" {
		t.Fatalf("%v %+v", err, resp.Status)
	}
	if _, err := DecodeTUP(1, nil); !errors.Is(err, ErrTUP) {
		t.Fatalf("v1: %v", err)
	}
	i := NewTUP(3)
	i.PutInt32("n", -7)
	if n, err := i.Int32("n"); err != nil || n != -7 {
		t.Fatalf("Int32 %d %v", n, err)
	}
	if _, err := i.String("n"); !errors.Is(err, ErrTUP) {
		t.Fatalf("string from int: %v", err)
	}
}
