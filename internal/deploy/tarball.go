package deploy

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"time"
)

// Modes of everything in a package: directories and executables 0755, every
// other file 0644. Nothing else is ever written or accepted by Verify.
const (
	modeExec fs.FileMode = 0o755
	modeFile fs.FileMode = 0o644
)

// gzipLevel trades size for time; see the package documentation for figures.
const gzipLevel = gzip.DefaultCompression

// entry is one file of a package before it is written.
type entry struct {
	path string      // slash-separated, relative to NAME/NAME/
	src  string      // file on disk, or "" when data holds the content
	data []byte      // content of a generated file (the manifest)
	mode fs.FileMode // modeExec or modeFile
	size int64
	sum  string // lowercase hex sha256 of the content
}

// hashFile fills size and sum from the file on disk.
func (e *entry) hashFile() error {
	f, err := os.Open(e.src)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return fmt.Errorf("read %s: %w", e.src, err)
	}
	e.size, e.sum = n, hex.EncodeToString(h.Sum(nil))
	return nil
}

// packMode is the mode a file gets in a package: 0755 when any execute bit
// is set on disk, 0644 otherwise.
func packMode(m fs.FileMode) fs.FileMode {
	if m&0o111 != 0 {
		return modeExec
	}
	return modeFile
}

// writeTarball writes the gzip-compressed tar of entries under NAME/NAME/ to
// w. The output depends only on name, epoch and the entries' paths, modes and
// contents: entries sorted by path, every parent directory present (0755),
// mtime = epoch, uid/gid 0 with empty owner names, no access/change times,
// gzip header without name or time. A file whose content no longer matches
// its recorded size and sha256 is an error (it changed while packaging).
func writeTarball(w io.Writer, name string, epoch time.Time, entries []entry) error {
	zw, err := gzip.NewWriterLevel(w, gzipLevel)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(zw)
	root := name + "/" + name + "/"

	dirs := map[string]bool{name + "/": true, root: true}
	byName := make(map[string]*entry, len(entries))
	names := make([]string, 0, len(entries)+8)
	for i := range entries {
		e := &entries[i]
		full := root + e.path
		byName[full] = e
		names = append(names, full)
		for d := path.Dir(full); d != "." && !dirs[d+"/"]; d = path.Dir(d) {
			dirs[d+"/"] = true
		}
	}
	for d := range dirs {
		names = append(names, d)
	}
	sort.Strings(names)

	for _, n := range names {
		hdr := &tar.Header{Name: n, ModTime: epoch, Typeflag: tar.TypeDir, Mode: int64(modeExec)}
		e := byName[n]
		if e != nil {
			hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeReg, int64(e.mode), e.size
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("tar header %s: %w", n, err)
		}
		if e != nil {
			if err := copyEntry(tw, e); err != nil {
				return err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

// copyEntry writes e's content and checks it against the recorded hash.
func copyEntry(w io.Writer, e *entry) error {
	var r io.Reader
	if e.src == "" {
		r = bytes.NewReader(e.data)
	} else {
		f, err := os.Open(e.src)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	h := sha256.New()
	// A file that grew keeps its first e.size bytes, which must still match.
	n, err := io.Copy(io.MultiWriter(h, w), io.LimitReader(r, e.size))
	if err != nil {
		return fmt.Errorf("pack %s: %w", e.path, err)
	}
	if n != e.size || hex.EncodeToString(h.Sum(nil)) != e.sum {
		return fmt.Errorf("pack %s: %s changed while packaging; run deploy again", e.path, e.src)
	}
	return nil
}
