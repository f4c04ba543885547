package deploy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Result describes a written package. It is also the shape of
// `deploy --json` output.
type Result struct {
	// Path is the absolute path of NAME.tgz.
	Path string `json:"path"`
	// Size is its length in bytes.
	Size int64 `json:"size"`
	// SHA256 is the lowercase hex digest of the whole tarball, as written to
	// NAME.tgz.sha256.
	SHA256 string `json:"sha256"`
	// Files are the packaged files, as listed in the manifest (every file
	// except the manifest itself).
	Files []File `json:"files"`
	// Manifest is the manifest written into the package.
	Manifest *Manifest `json:"-"`
}

// Build builds the service in o.Dir and writes the package and its .sha256
// file (see the package documentation for the layout and guarantees). On any
// error nothing is left at the output path: an existing tarball there is
// kept as it was. Cancelling ctx stops the go build.
func Build(ctx context.Context, o Options) (*Result, error) {
	if err := checkName(o.Name); err != nil {
		return nil, err
	}
	if err := checkAgentOptions(o.AgentOptions); err != nil {
		return nil, err
	}
	if o.Version != "" {
		if err := checkVersion(o.Version); err != nil {
			return nil, err
		}
	}
	env := o.Env
	if env == nil {
		env = os.Environ()
	}
	goos, goarch := o.target()
	targetEnv := append(env[:len(env):len(env)], "GOOS="+goos, "GOARCH="+goarch)

	o.progress(0, "checking the service package")
	dir, err := absDir(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotMain, err)
	}
	pkg, err := inspectPackage(ctx, targetEnv, dir)
	if err != nil {
		return nil, err
	}
	out, err := outputPath(o.Output, o.Name)
	if err != nil {
		return nil, err
	}

	o.progress(5, "checking the agent binary")
	agentPath, agentVersion, err := o.resolveAgent(goos, goarch)
	if err != nil {
		return nil, err
	}
	o.progress(10, "collecting included files")
	included, err := collectIncludes(pkg.Dir, pkg.ModuleDir, o.Name, o.Include)
	if err != nil {
		return nil, err
	}
	epoch, err := sourceEpoch(ctx, env, pkg.Dir)
	if err != nil {
		return nil, err
	}
	version := o.Version
	if version == "" {
		if version = gitVersion(ctx, env, pkg.Dir); version == "" {
			version = DefaultVersion
		}
	}

	o.progress(15, "building service")
	tmp, err := os.MkdirTemp("", "node-agent-deploy-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	service := filepath.Join(tmp, o.Name)
	if err := buildService(ctx, env, pkg.Dir, service, goos, goarch, version, o.CGO); err != nil {
		return nil, err
	}

	o.progress(70, "hashing files")
	files := append([]entry{
		{path: o.Name, src: agentPath, mode: modeExec},
		{path: "app/" + o.Name, src: service, mode: modeExec},
	}, included...)
	for i := range files[:2] {
		if err := files[i].hashFile(); err != nil {
			return nil, err
		}
	}
	m := &Manifest{
		ManifestVersion: ManifestVersion, Name: o.Name, Main: "app/" + o.Name,
		Version: version, GOOS: goos, GOARCH: goarch, GoVersion: goToolchain(service),
		AgentVersion: agentVersion, BuildTime: epoch.Format(time.RFC3339),
		Options: o.AgentOptions, Files: manifestFiles(files),
	}
	data, err := m.MarshalJSON()
	if err != nil {
		return nil, err
	}
	files = append(files, entry{path: ManifestName, data: data, mode: modeFile, size: int64(len(data)), sum: sha256hex(data)})

	o.progress(80, "writing "+filepath.Base(out))
	res, err := writeAtomically(out, func(w io.Writer) error {
		return writeTarball(w, o.Name, epoch, files)
	})
	if err != nil {
		return nil, err
	}
	res.Files, res.Manifest = m.Files, m
	o.progress(100, "done")
	return res, nil
}

// outputPath resolves Options.Output to an absolute file path.
func outputPath(out, name string) (string, error) {
	if out == "" {
		out = name + ".tgz"
	} else if fi, err := os.Stat(out); err == nil && fi.IsDir() {
		out = filepath.Join(out, name+".tgz")
	}
	return filepath.Abs(out)
}

// manifestFiles lists entries for the manifest, sorted by path.
func manifestFiles(entries []entry) []File {
	files := make([]File, 0, len(entries))
	for _, e := range entries {
		files = append(files, File{Path: e.path, Mode: formatMode(e.mode), Size: e.size, SHA256: e.sum})
	}
	sortFiles(files)
	return files
}

// writeAtomically writes the tarball produced by write to a temporary file
// beside path, then its checksum file, and renames both into place. On error
// both temporary files are removed and path is untouched.
func writeAtomically(path string, write func(io.Writer) error) (res *Result, err error) {
	dir, base := filepath.Split(path)
	tgz, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("create output: %w", err)
	}
	sumPath := path + ".sha256"
	var sumTmp string
	defer func() {
		if err != nil {
			tgz.Close()
			os.Remove(tgz.Name())
			if sumTmp != "" {
				os.Remove(sumTmp)
			}
		}
	}()
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(tgz, h)}
	if err := write(cw); err != nil {
		return nil, err
	}
	if err := tgz.Chmod(modeFile); err != nil {
		return nil, err
	}
	if err := tgz.Sync(); err != nil {
		return nil, err
	}
	if err := tgz.Close(); err != nil {
		return nil, err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	sumTmp, err = writeTempFile(dir, "."+base+".sha256.*.tmp", []byte(sum+"  "+base+"\n"))
	if err != nil {
		return nil, err
	}
	if err := os.Rename(tgz.Name(), path); err != nil {
		return nil, fmt.Errorf("rename output: %w", err)
	}
	if err := os.Rename(sumTmp, sumPath); err != nil {
		return nil, fmt.Errorf("rename checksum file: %w", err)
	}
	return &Result{Path: path, Size: cw.n, SHA256: sum}, nil
}

// writeTempFile writes data to a new 0644 temporary file in dir.
func writeTempFile(dir, pattern string, data []byte) (string, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(modeFile)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
