package auth

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nodeagent/node-agent/testdata/gateway/provider"
)

// App is one application allowed to call the gateway.
type App struct {
	ID   string
	Keys []Key // its active secrets, 1 to MaxKeys: two during a rotation
	// Templates are the templates it may send; AllTemplates allows every one.
	Templates    []string
	AllTemplates bool
	// FreeText allows messages with "content" instead of a template.
	FreeText bool
	Quota    Quota
}

// Key is one secret of an application.
type Key struct {
	Name   string // where it came from (the secret file's name), for the audit log
	Secret provider.Secret
}

// Quota bounds an application's accepted messages, across every worker and
// host sharing the store. A zero field is no bound.
type Quota struct {
	PerSecond float64 // token bucket refill rate, messages per second
	Burst     int     // token bucket size; defaults to PerSecond rounded up
	PerDay    int     // messages per UTC day
}

// IsZero reports whether q bounds nothing.
func (q Quota) IsZero() bool { return q.PerSecond == 0 && q.PerDay == 0 }

// MaxKeys bounds the secrets of one application: every one is tried.
const MaxKeys = 4

// MinSecretLen is the shortest secret accepted from a secret file.
const MinSecretLen = 16

// Allows reports whether a may send template ("" for free text).
func (a *App) Allows(template string) bool {
	if template == "" {
		return a.FreeText
	}
	return a.AllTemplates || slices.Contains(a.Templates, template)
}

// EnvApps names the environment alternative to the gateway's -apps flag.
const EnvApps = "SMS_APPS"

// LoadApps reads the applications file at path, in the gateway's config
// syntax:
//
//	[app.shop]
//	secret_files = ["shop.key", "shop.key.next"]   # 0600 files, relative to this file
//	templates = ["verify_code", "order_shipped"]    # or ["*"]
//	free_text = false
//	per_second = 20      # token bucket rate
//	burst = 40           # bucket size (default: per_second rounded up)
//	per_day = 10000      # per UTC day
//
// templates must name templates the gateway has (known). Every secret file
// must be private to the service user (chmod 600 or 400) and hold one
// secret of at least MinSecretLen bytes. Errors are one line naming the
// file, the line and the key; never a secret.
func LoadApps(path string, known []string) ([]App, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &provider.ParseError{File: path, Msg: err.Error()}
	}
	defer f.Close()
	doc, err := provider.ParseSettings(path, f)
	if err != nil {
		return nil, err
	}
	d := appDecoder{file: path, dir: filepath.Dir(path), known: known, byID: map[string]*App{}}
	for _, s := range doc.Sections {
		id, ok := strings.CutPrefix(s.Name, "app.")
		if !ok || !validAppID(id) || strings.Contains(id, ".") {
			return nil, &provider.ParseError{File: path, Line: s.Line, Key: "[" + s.Name + "]", Msg: "unknown section (want [app.ID], ID letters, digits, '_' and '-')"}
		}
		d.apps = append(d.apps, App{ID: id})
		d.lines = append(d.lines, s.Line)
	}
	for i := range d.apps {
		d.byID[d.apps[i].ID] = &d.apps[i]
	}
	for _, v := range doc.Values {
		if err := d.setting(v); err != nil {
			return nil, err
		}
	}
	for i := range d.apps {
		if err := d.finish(&d.apps[i], d.lines[i]); err != nil {
			return nil, err
		}
	}
	if len(d.apps) == 0 {
		return nil, &provider.ParseError{File: path, Msg: "no [app.ID] section: list the applications allowed to send"}
	}
	return d.apps, nil
}

type appDecoder struct {
	file, dir string
	known     []string
	apps      []App
	lines     []int
	byID      map[string]*App
}

func (d *appDecoder) setting(v provider.Setting) error {
	a := d.byID[strings.TrimPrefix(v.Section(), "app.")]
	if a == nil {
		return v.Errorf(d.file, "outside an [app.ID] section")
	}
	switch v.Key() {
	case "secret_files":
		files, ok := v.Strings()
		if !ok || len(files) == 0 || len(files) > MaxKeys {
			return v.Errorf(d.file, "want 1 to %d secret files, such as [\"shop.key\"]", MaxKeys)
		}
		for _, name := range files {
			k, err := d.readKey(name)
			if err != nil {
				return v.Errorf(d.file, "%v", err)
			}
			a.Keys = append(a.Keys, k)
		}
	case "templates":
		names, ok := v.Strings()
		if !ok {
			return v.Errorf(d.file, `want a list of template names, such as ["verify_code"], or ["*"]`)
		}
		for _, n := range names {
			switch {
			case n == "*":
				a.AllTemplates = true
			case !slices.Contains(d.known, n):
				return v.Errorf(d.file, "no template %q (the gateway has %s)", n, strings.Join(d.known, ", "))
			default:
				a.Templates = append(a.Templates, n)
			}
		}
	case "free_text":
		b, ok := v.Bool()
		if !ok {
			return v.Errorf(d.file, "want true or false")
		}
		a.FreeText = b
	case "per_second":
		f, ok := v.Number()
		if !ok || !(f > 0) || f > 1e6 {
			return v.Errorf(d.file, "want a positive number of messages per second")
		}
		a.Quota.PerSecond = f
	case "burst", "per_day":
		n, ok := v.Int()
		if !ok || n < 1 || n > math.MaxInt32 {
			return v.Errorf(d.file, "want a positive integer")
		}
		if v.Key() == "burst" {
			a.Quota.Burst = int(n)
		} else {
			a.Quota.PerDay = int(n)
		}
	default:
		return v.Errorf(d.file, "unknown key (want secret_files, templates, free_text, per_second, burst, per_day)")
	}
	return nil
}

// readKey reads one secret file, relative to the applications file.
func (d *appDecoder) readKey(name string) (Key, error) {
	path := name
	if !filepath.IsAbs(path) {
		path = filepath.Join(d.dir, path)
	}
	data, err := provider.ReadPrivateFile(path)
	if err != nil {
		return Key{}, err
	}
	secret := bytes.TrimSpace(data)
	if len(secret) < MinSecretLen || bytes.ContainsAny(secret, "\r\n") {
		return Key{}, fmt.Errorf("%s: want one secret of at least %d characters on one line", path, MinSecretLen)
	}
	return Key{Name: filepath.Base(path), Secret: provider.NewSecret(string(secret))}, nil
}

func (d *appDecoder) finish(a *App, line int) error {
	fail := func(msg string) error {
		return &provider.ParseError{File: d.file, Line: line, Key: "[app." + a.ID + "]", Msg: msg}
	}
	switch {
	case len(a.Keys) == 0:
		return fail("no secret_files: an application needs at least one secret")
	case !a.AllTemplates && len(a.Templates) == 0 && !a.FreeText:
		return fail("allows no message: give templates or free_text = true")
	case a.Quota.Burst > 0 && a.Quota.PerSecond == 0:
		return fail("burst without per_second")
	}
	if a.Quota.PerSecond > 0 && a.Quota.Burst == 0 {
		a.Quota.Burst = max(1, int(math.Ceil(a.Quota.PerSecond)))
	}
	return nil
}

// errNoApps is returned by NewGuard when neither applications nor a data
// directory for the default one are given.
var errNoApps = errors.New("auth: no applications and no data directory for the default one")
