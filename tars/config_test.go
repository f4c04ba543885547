package tars

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadConfigTarsnode(t *testing.T) {
	c, err := LoadConfig(filepath.Join("testdata", "App.Server.config.conf"))
	if err != nil {
		t.Fatal(err)
	}
	get := func(path, key, want string) {
		t.Helper()
		if v, ok := c.Get(path, key); !ok || v != want {
			t.Fatalf("%s<%s> = %q, %v; want %q", path, key, v, ok, want)
		}
	}
	get("/tars/application/server", "app", "App")
	get("/tars/application/server", "node", "tars.tarsnode.ServerObj@tcp -h 10.0.0.5 -p 19386 -t 60000")
	get("/tars/application/server", "local", "tcp -h 127.0.0.1 -p 31234 -t 10000")
	get("/tars/application/client", "asyncthread", "3")
	get("tars/application/client/", "locator", "tars.tarsregistry.QueryObj@tcp -h 10.0.0.1 -p 17890:tcp -h 10.0.0.2 -p 17890")
	get("/tars/application/server/App.Server.ObjAdapter", "allow", "")
	if v, ok := c.Lookup("/tars/application/server<deactivating-timeout>"); !ok || v != "3000" {
		t.Fatal(v, ok)
	}
	if _, ok := c.Lookup("/tars/application/server"); !ok {
		t.Fatal("domain lookup")
	}
	if _, ok := c.Lookup("/tars/application/server<nope>"); ok {
		t.Fatal("missing key found")
	}
	if _, ok := c.Lookup("/tars/application/server<node"); ok {
		t.Fatal("unterminated key found")
	}
	if _, ok := c.Get("/tars/nope", "x"); ok {
		t.Fatal("missing domain found")
	}
	// The http address: the first adapter with protocol=not_tars, in file order.
	var http string
	for _, a := range c.Domain("/tars/application/server").Children() {
		if p, _ := a.Get("protocol"); p == "not_tars" {
			http, _ = a.Get("endpoint")
			break
		}
	}
	if http != "tcp -h 10.0.0.5 -p 8080 -t 60000" {
		t.Fatalf("http adapter endpoint %q", http)
	}
	// Values parse as what they are.
	node, _ := c.Get("/tars/application/server", "node")
	if p, err := ParseProxy(node); err != nil || p.Endpoints[0].Port != 19386 {
		t.Fatalf("%+v %v", p, err)
	}
	if keys := c.Domain("/tars/application/client").Keys(); keys[0] != "locator" || len(keys) != 11 {
		t.Fatalf("keys %v", keys)
	}
}

func TestParseConfigSemantics(t *testing.T) {
	c, err := ParseConfig([]byte(strings.Join([]string{
		"# comment",
		"top=1",
		"<a>",
		"  k = v1  ",
		"  k=v2",
		"  url=http://x/?a=b",
		"  recvthread=1 #hello",
		"  <b.c>",
		"    x=1",
		"  </b.c>",
		"  <d>",
		"  </d>",
		"</a>",
		"<a>",
		"  more=yes",
		"  <b.c>",
		"    y=2",
		"  </b.c>",
		"</a>",
		"",
	}, "\r\n")))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range [][3]string{
		{"/", "top", "1"}, {"/a", "k", "v2"}, {"/a", "url", "http://x/?a=b"}, {"/a", "recvthread", "1 #hello"},
		{"/a/b.c", "x", "1"}, {"/a/b.c", "y", "2"}, {"/a", "more", "yes"},
	} {
		if v, ok := c.Get(tc[0], tc[1]); !ok || v != tc[2] {
			t.Errorf("%s<%s> = %q %v, want %q", tc[0], tc[1], v, ok, tc[2])
		}
	}
	kids := c.Domain("/a").Children()
	if len(kids) != 2 || kids[0].Name != "b.c" || kids[1].Name != "d" || kids[0].Line != 8 {
		t.Fatalf("children %+v", kids)
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct {
		in   string
		line int
		msg  string
	}{
		{"<a>\nk=v\n", 1, "never closed"},
		{"<a>\n<b>\n</a>\n", 3, "does not match <b> opened at line 2"},
		{"</a>\n", 1, "not open"},
		{"<a\n", 1, "must be a <section>"},
		{"<a>\n<>\n</a>", 2, "bad section name"},
		{"<a b>\n</a b>", 1, "bad section name"},
		{"<a>\n=v\n</a>", 2, "without a key"},
		{"<a>\nthis is junk\n</a>", 2, "not a key=value line"},
		{"<a>\n\x00\x01\n</a>", 2, "not a key=value line"},
		{"<a>x</a>\n", 1, "bad section name"},
	}
	for _, tt := range tests {
		_, err := ParseConfig([]byte(tt.in))
		var ce *ConfigError
		if !errors.As(err, &ce) || !errors.Is(err, ErrConfigSyntax) {
			t.Fatalf("%q: %v", tt.in, err)
		}
		if ce.Line != tt.line || !strings.Contains(ce.Msg, tt.msg) {
			t.Errorf("%q: %v; want line %d, %q", tt.in, err, tt.line, tt.msg)
		}
	}
}

func TestLoadConfigErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.conf")
	os.WriteFile(bad, []byte("<tars>\n  <application>\n</tars>\n"), 0o644)
	_, err := LoadConfig(bad)
	if err == nil || !strings.HasPrefix(err.Error(), bad+":3: ") {
		t.Fatalf("got %v", err)
	}
	_, err = LoadConfig(filepath.Join(dir, "missing.conf"))
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "missing.conf") {
		t.Fatalf("got %v", err)
	}
}

// TestParseConfigEscapes: keys and values are unescaped as TarsCpp's
// TC_ConfigDomain::parse does; an escaped '=' does not split; a backslash
// that is no escape is a syntax error naming the line.
func TestParseConfigEscapes(t *testing.T) {
	c, err := ParseConfig([]byte(`<s>
script-args=--mode\=prod
path = C:\\dir\\ 
multi=a\nb\r\tc
a\=b=c
only\=key
</s>
`))
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{
		"script-args": "--mode=prod", "path": `C:\dir\`, "multi": "a\nb\r\tc", "a=b": "c", "only=key": "",
	} {
		if got, ok := c.Get("/s", key); !ok || got != want {
			t.Errorf("<%s>: %q %v, want %q", key, got, ok, want)
		}
	}
	for _, bad := range []string{"k=a\\x", "k=trailing\\", "k\\q=v"} {
		_, err := ParseConfig([]byte("# c\n" + bad + "\n"))
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Line != 2 || !strings.Contains(ce.Msg, "\\") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
