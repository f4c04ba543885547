package deploy

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// Limits that keep Verify bounded on hostile input.
const (
	// MaxManifestSize is the largest node-agent.json Verify reads.
	MaxManifestSize = 4 << 20
	// MaxEntries is the largest number of tar entries Verify accepts.
	MaxEntries = 100000
	// MaxUnpackedSize is the largest total of file sizes Verify accepts.
	MaxUnpackedSize = 8 << 30
	// maxTrailer bounds the bytes read after the tar end-of-archive marker.
	maxTrailer = 1 << 20
)

// seen is what Verify found in the tarball for one file.
type seen struct {
	mode int64 // raw tar mode bits
	size int64
	sum  string
}

// VerifyFile verifies the package at path (see Verify). When path.sha256
// exists beside it, the tarball's digest must match it too.
func VerifyFile(p string) (*Manifest, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	m, err := Verify(io.TeeReader(f, h))
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(h, f); err != nil { // trailing bytes after the gzip stream
		return nil, err
	}
	want, err := os.ReadFile(p + ".sha256")
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return m, nil
	case err != nil:
		return nil, err
	}
	fields := strings.Fields(string(want))
	got := hex.EncodeToString(h.Sum(nil))
	if len(fields) == 0 || fields[0] != got {
		return nil, &MismatchError{Path: path.Base(p), Field: "sha256 (" + path.Base(p) + ".sha256)", Want: firstField(fields), Got: got}
	}
	return m, nil
}

// Verify reads a package and checks it against its own manifest: a gzip'd
// tar whose every entry is a directory or regular file under NAME/NAME/ with
// clean relative names and no duplicates; directories 0755; a manifest that
// parses strictly (Manifest.UnmarshalJSON) with manifest_version 1, name NAME
// and main "app/NAME"; the agent NAME/NAME/NAME and the service
// NAME/NAME/app/NAME present; every file other than the manifest listed with
// its exact mode, size and sha256, and every listed file present. The error
// names the first mismatch (in tar order) and wraps ErrInvalid.
func Verify(r io.Reader) (*Manifest, error) {
	br := bufio.NewReader(r)
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, invalid("not a gzip file: %v", err)
	}
	zr.Multistream(false)
	tr := tar.NewReader(zr)

	var (
		name     string
		order    []string // file paths relative to NAME/NAME/, in tar order
		files    = map[string]seen{}
		names    = map[string]bool{}
		manifest []byte
		total    int64
	)
	for n := 0; ; n++ {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, invalid("corrupt tar: %v", err)
		}
		if n >= MaxEntries {
			return nil, invalid("more than %d entries", MaxEntries)
		}
		if names[hdr.Name] {
			return nil, invalid("%s: duplicate entry", hdr.Name)
		}
		names[hdr.Name] = true
		rel, top, err := entryPath(hdr)
		if err != nil {
			return nil, err
		}
		if name == "" {
			name = top
		} else if top != name {
			return nil, invalid("%s: outside %s/%s/; a package holds exactly one NAME/NAME/ tree", hdr.Name, name, name)
		}
		if hdr.Typeflag == tar.TypeDir {
			if hdr.Mode != int64(modeExec) {
				return nil, &MismatchError{Path: hdr.Name, Field: "mode", Want: formatMode(modeExec), Got: fmt.Sprintf("%04o", hdr.Mode)}
			}
			continue
		}
		if hdr.Size < 0 || total+hdr.Size > MaxUnpackedSize {
			return nil, invalid("more than %d bytes unpacked", int64(MaxUnpackedSize))
		}
		total += hdr.Size
		if rel == ManifestName {
			if hdr.Size > MaxManifestSize {
				return nil, invalid("%s is larger than %d bytes", ManifestName, MaxManifestSize)
			}
			if manifest, err = io.ReadAll(tr); err != nil {
				return nil, invalid("corrupt tar: %v", err)
			}
			if hdr.Mode != int64(modeFile) {
				return nil, &MismatchError{Path: ManifestName, Field: "mode", Want: formatMode(modeFile), Got: fmt.Sprintf("%04o", hdr.Mode)}
			}
			continue
		}
		h := sha256.New()
		size, err := io.Copy(h, tr)
		if err != nil {
			return nil, invalid("corrupt tar: %v", err)
		}
		files[rel] = seen{mode: hdr.Mode, size: size, sum: hex.EncodeToString(h.Sum(nil))}
		order = append(order, rel)
	}
	// The rest of the gzip member (tar padding) is read to check its CRC;
	// nothing may follow it.
	if n, err := io.CopyN(io.Discard, zr, maxTrailer+1); err != io.EOF {
		if err == nil && n > maxTrailer {
			return nil, invalid("more than %d bytes after the end of the tar archive", maxTrailer)
		}
		return nil, invalid("corrupt gzip stream: %v", err)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return nil, invalid("data after the gzip stream")
	}
	if name == "" {
		return nil, invalid("empty archive")
	}
	if manifest == nil {
		return nil, invalid("%s/%s/%s is missing", name, name, ManifestName)
	}
	var m Manifest
	if err := json.Unmarshal(manifest, &m); err != nil {
		return nil, invalid("%s: %v", ManifestName, err)
	}
	if err := checkManifest(&m, name); err != nil {
		return nil, err
	}
	if err := compareFiles(&m, order, files); err != nil {
		return nil, err
	}
	return &m, nil
}

// entryPath checks a tar entry's type and name and returns its path relative
// to NAME/NAME/ ("" for the two top directories) and NAME.
func entryPath(hdr *tar.Header) (rel, top string, err error) {
	switch hdr.Typeflag {
	case tar.TypeDir, tar.TypeReg:
	default:
		return "", "", invalid("%s: entry type %q; a package holds only directories and regular files", hdr.Name, hdr.Typeflag)
	}
	clean := strings.TrimSuffix(hdr.Name, "/")
	if !fs.ValidPath(clean) || clean == "." || strings.Contains(hdr.Name, "\\") {
		return "", "", invalid("%q: not a clean relative path", hdr.Name)
	}
	if hdr.Typeflag == tar.TypeReg && strings.HasSuffix(hdr.Name, "/") {
		return "", "", invalid("%q: file name ends in /", hdr.Name)
	}
	parts := strings.SplitN(clean, "/", 3)
	top = parts[0]
	switch {
	case !ValidName(top):
		return "", "", invalid("%s: top directory %q is not a legal NAME", hdr.Name, top)
	case len(parts) >= 2 && parts[1] != top:
		return "", "", invalid("%s: expected %s/%s/", hdr.Name, top, top)
	case len(parts) < 3 && hdr.Typeflag != tar.TypeDir:
		return "", "", invalid("%s: files belong under %s/%s/", hdr.Name, top, top)
	case len(parts) == 3:
		rel = parts[2]
	}
	return rel, top, nil
}

// checkManifest checks the manifest's own fields against the package name.
func checkManifest(m *Manifest, name string) error {
	switch {
	case m.ManifestVersion != ManifestVersion:
		return invalid("%s: manifest_version %d, this verifier knows %d", ManifestName, m.ManifestVersion, ManifestVersion)
	case m.Name != name:
		return &MismatchError{Path: ManifestName, Field: "name", Want: m.Name, Got: name}
	case m.Main != "app/"+name:
		return &MismatchError{Path: ManifestName, Field: "main", Want: "app/" + name, Got: m.Main}
	}
	if err := checkAgentOptions(m.Options); err != nil {
		return invalid("%s: %v", ManifestName, err)
	}
	return nil
}

// compareFiles checks the files found against the manifest's list: tar order
// first (the first mismatching or extra file), then what is missing.
func compareFiles(m *Manifest, order []string, files map[string]seen) error {
	listed := make(map[string]File, len(m.Files))
	for _, f := range m.Files {
		if _, dup := listed[f.Path]; dup {
			return invalid("%s: %s listed twice", ManifestName, f.Path)
		}
		listed[f.Path] = f
	}
	for _, p := range order {
		got, want := files[p], listed[p]
		switch {
		case want.Path == "":
			return &MismatchError{Path: p, Field: "presence", Want: "no such file", Got: "an extra file"}
		case fmt.Sprintf("%04o", got.mode) != want.Mode || (got.mode != int64(modeExec) && got.mode != int64(modeFile)):
			return &MismatchError{Path: p, Field: "mode", Want: want.Mode, Got: fmt.Sprintf("%04o", got.mode)}
		case got.size != want.Size:
			return &MismatchError{Path: p, Field: "size", Want: fmt.Sprint(want.Size), Got: fmt.Sprint(got.size)}
		case got.sum != want.SHA256:
			return &MismatchError{Path: p, Field: "sha256", Want: want.SHA256, Got: got.sum}
		}
	}
	for _, f := range m.Files {
		if _, ok := files[f.Path]; !ok {
			return &MismatchError{Path: f.Path, Field: "presence", Want: "a " + f.Mode + " file", Got: "nothing"}
		}
	}
	for _, req := range []struct{ path, what string }{{m.Name, "agent"}, {m.Main, "service"}} {
		f, ok := files[req.path]
		if !ok {
			return invalid("%s/%s/%s: the %s binary is missing", m.Name, m.Name, req.path, req.what)
		}
		if f.mode != int64(modeExec) {
			return &MismatchError{Path: req.path, Field: "mode", Want: "0755 (the " + req.what + " binary)", Got: fmt.Sprintf("%04o", f.mode)}
		}
	}
	return nil
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

func firstField(f []string) string {
	if len(f) == 0 {
		return "nothing"
	}
	return f[0]
}
