package tars

import (
	"bytes"
	"errors"
	"maps"
	"os"
	"reflect"
	"strings"
	"testing"
)

// Seed corpora live in testdata/fuzz/<FuzzName>/ (go test runs them as
// ordinary test cases); the f.Add seeds below are the same kind of inputs.
// Run one fuzzer for a while with e.g.
//
//	go test ./tars -run '^$' -fuzz '^FuzzDecodeRequestPacket$' -fuzztime 20s

func FuzzDecodeRequestPacket(f *testing.F) {
	f.Add(unhex(f, keepAliveFrame)[4:])
	f.Add(Marshal(tupRequest(VersionTUPSimple, "tars.viewstatus")))
	f.Add(Marshal(tupRequest(VersionTUPComplex, "tars.viewstatus")))
	f.Add(Marshal(&RequestPacket{IVersion: 1, SFuncName: FuncNotify, SBuffer: Marshal(&NotifyArgs{"x y"})}))
	f.Add([]byte{})
	f.Add([]byte{0x80, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		// The same bytes as a stream of frames, too.
		for rest := data; ; {
			body, r, err := SplitFrame(rest, 1<<16)
			if err != nil || body == nil {
				break
			}
			_, _ = DecodeRequestPacket(body)
			rest = r
		}
		_, _ = ReadPacket(bytes.NewReader(data), 1<<16)

		p, err := DecodeRequestPacket(data)
		if err != nil {
			assertSentinel(t, err)
			return
		}
		_, _ = NotifyCommand(p)
		if IsTUP(p.IVersion) {
			if a, err := DecodeTUP(p.IVersion, p.SBuffer); err == nil {
				a.Encode()
			}
		}
		// Decoded packets re-encode to something that decodes the same.
		q, err := DecodeRequestPacket(Marshal(p))
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if q.IVersion != p.IVersion || q.IRequestID != p.IRequestID || q.SFuncName != p.SFuncName ||
			!bytes.Equal(q.SBuffer, p.SBuffer) || !maps.Equal(q.Context, p.Context) || !maps.Equal(q.Status, p.Status) {
			t.Fatalf("re-decode differs:\n%+v\n%+v", p, q)
		}
	})
}

func assertSentinel(t *testing.T, err error) {
	t.Helper()
	for _, s := range []error{ErrTruncated, ErrTooLarge, ErrTypeMismatch, ErrRequired, ErrMalformed, ErrTUP} {
		if errors.Is(err, s) {
			return
		}
	}
	t.Fatalf("error without a sentinel: %v", err)
}

// FuzzReadStruct decodes arbitrary bytes as every typed struct and skips
// them generically: never a panic, always progress, and a successful decode
// re-encodes to an equal value.
func FuzzReadStruct(f *testing.F) {
	n := sampleNested()
	f.Add(Marshal(&n))
	f.Add(Marshal(sampleMicBatch(2)))
	f.Add(unhex(f, "1a060341707016035372762104d236000b"))
	f.Add(unhex(f, strings.Repeat("0a", 70)))
	f.Add(unhex(f, "0d00027fffffff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(data)
		for r.Remaining() > 0 {
			off := r.Offset()
			if err := r.Skip(); err != nil {
				assertSentinel(t, err)
				break
			}
			if r.Offset() <= off {
				t.Fatalf("Skip made no progress at %d", off)
			}
		}
		var ks KeepAliveArgs
		_ = Unmarshal(data, &ks)
		var mic ReportMicMsgArgs
		_ = Unmarshal(data, &mic)
		var prop ReportPropMsgArgs
		_ = Unmarshal(data, &prop)
		var ni ReportNotifyInfoArgs
		_ = Unmarshal(data, &ni)
		var fr FindObjectsResult
		_ = Unmarshal(data, &fr)
		var resp ResponsePacket
		_ = Unmarshal(data, &resp)

		var v nested
		if err := Unmarshal(data, &v); err != nil {
			assertSentinel(t, err)
			return
		}
		var w nested
		if err := Unmarshal(Marshal(&v), &w); err != nil || !nestedEqual(v, w) && !hasNaN(v) {
			t.Fatalf("re-decode: %v\n%+v\n%+v", err, v, w)
		}
	})
}

func hasNaN(v nested) bool { return v.F != v.F || v.D != v.D }

func FuzzParseConfig(f *testing.F) {
	if b, err := os.ReadFile("testdata/App.Server.config.conf"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("<a>\nk=v\n</a>\n"))
	f.Add([]byte("<a>\n<b>\n</a>\n"))
	f.Add([]byte("k\n<x.y>\n#c\n  =\n</x.y>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) || !errors.Is(err, ErrConfigSyntax) {
				t.Fatalf("not a ConfigError: %v", err)
			}
			if lines := bytes.Count(data, []byte("\n")) + 1; ce.Line < 1 || ce.Line > lines {
				t.Fatalf("line %d outside 1..%d", ce.Line, lines)
			}
			return
		}
		// Every key of every domain can be looked up by path.
		var walk func(path string, d *ConfigDomain)
		walk = func(path string, d *ConfigDomain) {
			for _, k := range d.Keys() {
				want, _ := d.Get(k)
				if got, ok := c.Get(path, k); !ok || got != want {
					t.Fatalf("%s<%s>: %q %v, want %q", path, k, got, ok, want)
				}
				// Escaped as tarsnode writes it, the value reads back
				// the same (when trimming does not change it).
				if want != strings.TrimSpace(want) || strings.ContainsAny(want, "<>") {
					continue
				}
				back, err := ParseConfig([]byte("k=" + escapeTarsValue(want)))
				if got, _ := back.Get("/", "k"); err != nil || got != want {
					t.Fatalf("value %q escaped: %q, %v", want, got, err)
				}
			}
			for _, ch := range d.Children() {
				walk(path+"/"+ch.Name, ch)
			}
		}
		walk("", c.Root)
	})
}

func FuzzParseEndpoint(f *testing.F) {
	for _, s := range []string{
		"tcp -h 127.0.0.1 -p 10000 -t 3000", "udp -h ::1 -p 53", "ssl -h h -p 1 -e 1 -a x -z",
		"tars.tarsnode.ServerObj@tcp -h 10.0.0.5 -p 19386 -t 60000",
		"Q@tcp -h a -p 1:tcp -h b -p 2", "tcp -h a -p 70000", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if e, err := ParseEndpoint(s); err == nil {
			e2, err := ParseEndpoint(e.String())
			if err != nil || !reflect.DeepEqual(e, e2) {
				t.Fatalf("%q → %q: %+v %v", s, e.String(), e2, err)
			}
		} else if !errors.Is(err, ErrEndpoint) {
			t.Fatalf("%q: %v", s, err)
		}
		if p, err := ParseProxy(s); err == nil {
			p2, err := ParseProxy(p.String())
			if err != nil || !reflect.DeepEqual(p, p2) {
				t.Fatalf("%q → %q: %+v %v", s, p.String(), p2, err)
			}
		} else if !errors.Is(err, ErrEndpoint) {
			t.Fatalf("%q: %v", s, err)
		}
	})
}

// escapeTarsValue escapes s as tarsnode writes values (TarsCpp
// TC_ConfigDomain::reverse_parse).
func escapeTarsValue(s string) string {
	return strings.NewReplacer("\\", "\\\\", "\r", "\\r", "\n", "\\n", "\t", "\\t", "=", "\\=").Replace(s)
}
