package agent

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// HandoverCheckFlag makes the program read a hand-over document on stdin
// and answer whether it can adopt it (CheckHandover): the agent runs the
// new binary with it before the exec, the last point where a refusal
// leaves the old program in charge.
const HandoverCheckFlag = "--handover-check"

// checkNewBinary checks the binary at path before the agent execs it: an
// ELF executable for this machine, whose --version answers, and which
// reads doc, the hand-over document, with --handover-check. It returns
// the new program's version, or an error wrapping ErrUpgradeRefused that
// says what failed. Both runs go through r (it may be waiting for any
// child) and are bounded by upgradeTimeout.
func checkNewBinary(ctx context.Context, r *reaper, path string, doc []byte) (string, error) {
	if err := checkPlatform(path); err != nil {
		return "", err
	}
	out, err := runProbe(ctx, r, path, nil, "--version")
	if err != nil {
		return "", refused("%s --version: %v", path, err)
	}
	version, ok := versionLine(out)
	if !ok {
		return "", refused("%s --version answered %q, not a node-agent version", path, firstLine(out))
	}
	stdin, err := memfdWith("node-agent-handover-check", doc)
	if err != nil {
		return "", refused("%v", err)
	}
	defer stdin.Close()
	out, err = runProbe(ctx, r, path, stdin, HandoverCheckFlag)
	if err != nil {
		return "", refused("%s (%s) cannot adopt this agent: %v", path, version, err)
	}
	if !strings.HasPrefix(out, "ok") {
		return "", refused("%s (%s) cannot adopt this agent: %s", path, version, firstLine(out))
	}
	return version, nil
}

// runProbe runs path with args through r, stdin on its standard input,
// and returns what it wrote. A failure names the exit and the last line
// it wrote, or says it did not answer in time (it is killed).
func runProbe(ctx context.Context, r *reaper, path string, stdin *os.File, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, upgradeTimeout)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.Command(path, args...)
	cmd.Stdin = stdin
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = withoutVar(os.Environ(), handoverEnv)
	// It goes if the agent dies while it runs (it holds nothing of the
	// workers, so the guardian would not know it).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	err := r.run(ctx, cmd)
	switch {
	case ctx.Err() != nil:
		return "", fmt.Errorf("no answer within %v (killed)", upgradeTimeout)
	case err != nil:
		if last := lastLine(out.String()); last != "" {
			return "", fmt.Errorf("%v: %s", err, last)
		}
		return "", err
	}
	return out.String(), nil
}

// checkPlatform checks path is an ELF executable for this machine.
func checkPlatform(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return refused("%s is not an executable for this platform: %v", path, err)
	}
	defer f.Close()
	want, ok := elfMachines[runtime.GOARCH]
	switch {
	case f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN:
		return refused("%s is an ELF %v, not an executable", path, f.Type)
	case ok && f.Machine != want:
		return refused("%s is built for %v, this agent runs on %s/%s", path, f.Machine, runtime.GOOS, runtime.GOARCH)
	}
	return nil
}

// elfMachines maps GOARCH to its ELF machine.
var elfMachines = map[string]elf.Machine{
	"amd64":   elf.EM_X86_64,
	"386":     elf.EM_386,
	"arm64":   elf.EM_AARCH64,
	"arm":     elf.EM_ARM,
	"riscv64": elf.EM_RISCV,
	"ppc64le": elf.EM_PPC64,
	"ppc64":   elf.EM_PPC64,
	"s390x":   elf.EM_S390,
	"loong64": elf.EM_LOONGARCH,
}

// memfdWith returns an anonymous memory file holding b, read from its
// start, close-on-exec.
func memfdWith(name string, b []byte) (*os.File, error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("memfd: %w", err)
	}
	f := os.NewFile(uintptr(fd), name)
	if _, err := f.Write(b); err != nil {
		f.Close()
		return nil, fmt.Errorf("memfd: %w", err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("memfd: %w", err)
	}
	return f, nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}
