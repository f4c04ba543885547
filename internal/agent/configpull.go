package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/nodeagent/node-agent/internal/agent/config"
	"github.com/nodeagent/node-agent/internal/notify"
	"github.com/nodeagent/node-agent/tars"
)

// configPuller fetches a service's config files from the TARS config
// center (<server>config, ConfigF.loadConfigByInfo through the locator),
// as TarsGo's RConf does, and writes them under the base path. TARS-type
// servers pull their files themselves: tarsnode never downloads them
// (TarsFramework NodeServer/CommandLoad.cpp).
type configPuller struct {
	client      *tars.Client
	app, server string
	set, host   string
	dir         string // <server>basepath, else the TARS config's directory
}

// newConfigPuller returns the puller of cfg, or nil when cfg names no
// ConfigObj.
func newConfigPuller(cfg *config.Config) (*configPuller, error) {
	if cfg.ConfigObj == "" {
		return nil, nil
	}
	c, err := tars.NewClient(cfg.ConfigObj, tars.ClientOptions{Locator: cfg.Locator, Set: cfg.SetDivision, NodeName: cfg.NodeName})
	if err != nil {
		return nil, fmt.Errorf("<server>config %q: %w", cfg.ConfigObj, err)
	}
	app, server := notify.SplitName(cfg.Name)
	dir := cfg.BasePath
	if dir == "" {
		dir = filepath.Dir(cfg.TarsConfig)
	}
	return &configPuller{client: c, app: app, server: server, set: cfg.SetDivision, host: cfg.LocalIP, dir: dir}, nil
}

// errConfigName is the error of a file name that is not a plain name.
var errConfigName = errors.New("a config file name is a plain name, without a directory")

// pull fetches the file called name and writes it atomically (a temporary
// file renamed over it) into the base path; it returns the file's path.
// Errors: a name with a directory or "..", the config center unreachable
// or answering non-zero (no such file), the file not writable.
func (p *configPuller) pull(ctx context.Context, name string) (string, error) {
	if name == "" || name != filepath.Base(name) || name == "." || name == ".." || strings.ContainsRune(name, '\\') {
		return "", fmt.Errorf("%q: %w", name, errConfigName)
	}
	var res tars.LoadConfigByInfoResult
	info := tars.ConfigInfo{AppName: p.app, ServerName: p.server, FileName: name, Host: p.host, SetDivision: p.set}
	if err := p.client.Invoke(ctx, tars.FuncLoadConfigByInfo, &tars.LoadConfigByInfoArgs{Info: info}, &res); err != nil {
		return "", fmt.Errorf("loadConfigByInfo(%s): %w", name, err)
	}
	if res.Ret != 0 {
		return "", fmt.Errorf("loadConfigByInfo(%s): the config center answered %d (no such file?)", name, res.Ret)
	}
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(p.dir, name)
	if err := writeFileAtomic(path, []byte(res.Config)); err != nil {
		return "", err
	}
	return path, nil
}

// writeFileAtomic replaces path with data: written and synced to a
// temporary file of the same directory, then renamed over path, so a
// reader sees the old file or the new one, never a part.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// close closes the connection to the config center.
func (p *configPuller) close() { p.client.Close() }

// pullAtStart fetches the files the config lists (<server>config-files)
// once, before the first workers start; a file that cannot be fetched is
// logged and alarmed, and the workers start with what is on disk.
func (s *Supervisor) pullAtStart(p *configPuller) {
	for _, name := range s.cfg.ConfigFiles {
		ctx, cancel := context.WithTimeout(context.Background(), tars.DefaultCallTimeout)
		path, err := p.pull(ctx, name)
		cancel()
		if err != nil {
			s.log.error("config file %s not pulled: %v", name, err)
			continue
		}
		s.log.info("config file %s pulled to %s", name, path)
	}
}

// loadConfig runs tars.loadconfig FILE with a config center: FILE is
// fetched and written under the base path, then "tars.loadconfig PATH"
// goes to every worker (container's default handler calls the reload
// callback the worker registered). The reply is TarsGo's "Getconfig
// Success!: FILE", then the workers' answers; a fetch that failed is the
// error "Getconfig Error!: FILE: why" (ErrBadArgument for a bad name).
func (s *Supervisor) loadConfig(ctx context.Context, p *configPuller, name string) (string, error) {
	path, err := p.pull(ctx, name)
	if err != nil {
		s.log.error("tars.loadconfig %s: %v", name, err)
		if errors.Is(err, errConfigName) {
			return "", errorf(ErrBadArgument, "Getconfig Error!: %s: %v", name, err)
		}
		return "", fmt.Errorf("Getconfig Error!: %s: %w", name, err)
	}
	s.log.info("tars.loadconfig: %s written to %s", name, path)
	text, err := s.Notify(ctx, CmdLoadConfig+" "+path)
	head := "Getconfig Success!: " + name
	if err != nil {
		return "", fmt.Errorf("%s, but not applied by every worker:\n%w", head, err)
	}
	if text != "" {
		head += "\n" + text
	}
	return head, nil
}
