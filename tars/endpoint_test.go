package tars

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestParseEndpoint(t *testing.T) {
	tests := []struct {
		in   string
		want Endpoint
		str  string
	}{
		{"tcp -h 127.0.0.1 -p 10000 -t 3000",
			Endpoint{Protocol: "tcp", Host: "127.0.0.1", Port: 10000, Timeout: 3 * time.Second},
			"tcp -h 127.0.0.1 -p 10000 -t 3000"},
		{"  udp\t-h 10.0.0.1  -p 53 \r\n",
			Endpoint{Protocol: "udp", Host: "10.0.0.1", Port: 53}, "udp -h 10.0.0.1 -p 53"},
		{"SSL -h example.com -p 443 -t 60000 -e 1",
			Endpoint{Protocol: "ssl", Host: "example.com", Port: 443, Timeout: time.Minute, AuthType: 1},
			"ssl -h example.com -p 443 -t 60000 -e 1"},
		{"tcp -h ::1 -p 0",
			Endpoint{Protocol: "tcp", Host: "::1"}, "tcp -h ::1 -p 0"},
		{"tcp -h 1.2.3.4 -p 1 -g 1 -q 2 -w 3 -v 4 -e 5 -b 10.0.0.9 -a x -z -s set",
			Endpoint{Protocol: "tcp", Host: "1.2.3.4", Port: 1, Grid: 1, Qos: 2, Weight: 3, WeightType: 4, AuthType: 5,
				Bind: "10.0.0.9", Extra: []EndpointOption{{"a", "x"}, {"z", ""}, {"s", "set"}}},
			"tcp -h 1.2.3.4 -p 1 -g 1 -q 2 -w 3 -v 4 -e 5 -b 10.0.0.9 -a x -z -s set"},
		{"tcp -p 65535 -h h", Endpoint{Protocol: "tcp", Host: "h", Port: 65535}, "tcp -h h -p 65535"},
	}
	for _, tt := range tests {
		got, err := ParseEndpoint(tt.in)
		if err != nil {
			t.Fatalf("%q: %v", tt.in, err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Fatalf("%q:\n got %+v\nwant %+v", tt.in, got, tt.want)
		}
		if s := got.String(); s != tt.str {
			t.Fatalf("%q: String = %q, want %q", tt.in, s, tt.str)
		}
	}
	e, _ := ParseEndpoint("tcp -h ::1 -p 80")
	if e.Address() != "[::1]:80" || e.Network() != "tcp" || e.TimeoutOrDefault() != DefaultEndpointTimeout {
		t.Fatal(e.Address(), e.Network(), e.TimeoutOrDefault())
	}
	e, _ = ParseEndpoint("ssl -h h -p 1 -t 10")
	if e.Network() != "tcp" || e.TimeoutOrDefault() != 10*time.Millisecond {
		t.Fatal(e.Network())
	}
}

func TestParseEndpointErrors(t *testing.T) {
	for _, in := range []string{
		"", "   ", "http -h a -p 1", "tcp", "tcp -p 1", "tcp -h", "tcp -h a -p", "tcp -h a -p x",
		"tcp -h a -p 65536", "tcp -h a -p -1", "tcp -h a -t -5", "tcp -h a -p 1 junk", "tcp -h a -",
		"tcp -h a -t 1.5", "tcp -h a -b",
	} {
		if _, err := ParseEndpoint(in); !errors.Is(err, ErrEndpoint) {
			t.Errorf("%q: got %v, want ErrEndpoint", in, err)
		}
	}
}

func TestParseProxy(t *testing.T) {
	p, err := ParseProxy("tars.tarsregistry.QueryObj@tcp -h 10.0.0.1 -p 17890:tcp -h 10.0.0.2 -p 17890 -t 500")
	if err != nil {
		t.Fatal(err)
	}
	if p.Servant != ServantQuery || len(p.Endpoints) != 2 || p.Endpoints[1].Host != "10.0.0.2" ||
		p.Endpoints[1].Timeout != 500*time.Millisecond || !p.Direct() {
		t.Fatalf("%+v", p)
	}
	if s := p.String(); s != "tars.tarsregistry.QueryObj@tcp -h 10.0.0.1 -p 17890:tcp -h 10.0.0.2 -p 17890 -t 500" {
		t.Fatal(s)
	}
	// IPv6 hosts contain ':' but are not split.
	p, err = ParseProxy("A.B.C@tcp -h ::1 -p 1: udp -h fe80::1 -p 2")
	if err != nil || len(p.Endpoints) != 2 || p.Endpoints[0].Host != "::1" || p.Endpoints[1].Host != "fe80::1" {
		t.Fatalf("%+v %v", p, err)
	}
	// Without '@': resolved through the locator.
	p, err = ParseProxy(" tars.tarsnotify.NotifyObj ")
	if err != nil || p.Direct() || p.Servant != ServantNotify || p.String() != ServantNotify {
		t.Fatalf("%+v %v", p, err)
	}
	for _, in := range []string{"", "@tcp -h a -p 1", "A@", "A@ : ", "A@tcp -p 1", "A B@tcp -h a -p 1", "A@tcp -h a -p 1:junk"} {
		if _, err := ParseProxy(in); !errors.Is(err, ErrEndpoint) {
			t.Errorf("%q: got %v, want ErrEndpoint", in, err)
		}
	}
}

func TestEndpointF(t *testing.T) {
	for _, s := range []string{"tcp -h a -p 1 -t 3000", "udp -h b -p 2", "ssl -h c -p 3 -g 1 -q 2 -w 3 -v 4 -e 1"} {
		e, err := ParseEndpoint(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := EndpointFromF(e.ToEndpointF()); !reflect.DeepEqual(got, e) {
			t.Fatalf("%q: %+v", s, got)
		}
	}
}
