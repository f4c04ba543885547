package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/nodeagent/node-agent/container/wire"
	"github.com/nodeagent/node-agent/internal/agent/config"
	"github.com/nodeagent/node-agent/internal/notify"
	"github.com/nodeagent/node-agent/tars"
)

// configPuller fetches a service's config files from the TARS config
// center (<server>config, ConfigF.loadConfigByInfo through the locator),
// as TarsGo's RConf does, and writes them under the base path. TARS-type
// servers pull their files themselves: tarsnode never downloads them
// (TarsFramework NodeServer/CommandLoad.cpp). Hence the pulls: a worker's
// AddConfig, for the files it reads (at start), and tars.loadconfig FILE
// from the console, for a new version.
type configPuller struct {
	client      *tars.Client
	app, server string
	set, host   string
	dir         string         // <server>basepath, else the TARS config's directory
	running     sync.WaitGroup // the pulls of workers' AddConfig (async)
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

// async runs a pull for a worker on its own goroutine; close waits for it.
func (p *configPuller) async(f func()) {
	p.running.Add(1)
	go func() {
		defer p.running.Done()
		f()
	}()
}

// close closes the connection to the config center, which ends the pulls
// under way, and waits for them.
func (p *configPuller) close() {
	p.client.Close()
	p.running.Wait()
}

// onAddConfig answers a worker's AddConfig (container.Worker.AddConfig,
// TarsGo's RConf): the file is pulled as tars.loadconfig pulls it, off the
// run loop, and its path or the error goes back to the worker. Without a
// config center the answer is wire.ConfigNoCenter at once.
func (s *Supervisor) onAddConfig(w *worker, m wire.Message) {
	var req wire.AddConfig
	if err := m.Decode(&req); err != nil {
		return
	}
	to, slot := w.p, w.slot
	p := s.configs.Load()
	if p == nil {
		to.Send(wire.KindAddConfigResult, wire.AddConfigResult{ID: req.ID, Code: wire.ConfigNoCenter,
			Error: "no config center: the agent's TARS config names no <server>config"})
		return
	}
	p.async(func() {
		ctx, cancel := context.WithTimeout(context.Background(), tars.DefaultCallTimeout)
		defer cancel()
		res := wire.AddConfigResult{ID: req.ID}
		path, err := p.pull(ctx, req.Name)
		switch {
		case errors.Is(err, errConfigName):
			res.Error, res.Code = err.Error(), wire.ConfigBadName
		case err != nil:
			res.Error = err.Error()
			s.log.error("worker %d (pid %d): config file %s not pulled: %v", slot, to.PID(), req.Name, err)
		default:
			res.Path = path
			s.log.info("worker %d (pid %d): config file %s pulled to %s", slot, to.PID(), req.Name, path)
		}
		to.Send(wire.KindAddConfigResult, res) // fails when the worker is gone: nobody to tell
	})
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
