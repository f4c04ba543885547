package deploy

import (
	"debug/buildinfo"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"errors"
	"fmt"
	"io"
	"os"
)

// errUnknownFormat: the file is neither ELF, Mach-O nor PE.
var errUnknownFormat = errors.New("not an ELF, Mach-O or PE executable")

// binaryPlatform reads the executable header of the file at p and returns
// its operating system and architecture in GOOS/GOARCH terms. The header
// gives the file format and machine; when the file is a Go binary its build
// information gives the exact GOOS/GOARCH (telling, say, linux from freebsd,
// both ELF) and wins. goos is "" when only the format family is known
// ("elf" binaries without Go build information).
func binaryPlatform(p string) (goos, goarch string, err error) {
	f, err := os.Open(p)
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	goos, goarch, err = headerPlatform(f)
	if err != nil {
		return "", "", err
	}
	if bi, err := buildinfo.Read(f); err == nil {
		for _, s := range bi.Settings {
			switch s.Key {
			case "GOOS":
				goos = s.Value
			case "GOARCH":
				goarch = s.Value
			}
		}
	}
	return goos, goarch, nil
}

// headerPlatform decodes the ELF, Mach-O or PE header of r.
func headerPlatform(r io.ReaderAt) (goos, goarch string, err error) {
	if f, err := elf.NewFile(r); err == nil {
		defer f.Close()
		switch f.OSABI {
		case elf.ELFOSABI_NONE, elf.ELFOSABI_LINUX:
			goos = "linux"
		case elf.ELFOSABI_FREEBSD:
			goos = "freebsd"
		case elf.ELFOSABI_NETBSD:
			goos = "netbsd"
		case elf.ELFOSABI_OPENBSD:
			goos = "openbsd"
		}
		return goos, elfArch(f), nil
	}
	if f, err := macho.NewFile(r); err == nil {
		defer f.Close()
		return "darwin", machoArch(f.Cpu), nil
	}
	if f, err := macho.NewFatFile(r); err == nil {
		defer f.Close()
		return "darwin", "", fmt.Errorf("universal Mach-O binary: give a single-architecture agent")
	}
	if f, err := pe.NewFile(r); err == nil {
		defer f.Close()
		return "windows", peArch(f.Machine), nil
	}
	return "", "", errUnknownFormat
}

func elfArch(f *elf.File) string {
	le := f.ByteOrder.String() == "LittleEndian"
	is64 := f.Class == elf.ELFCLASS64
	switch f.Machine {
	case elf.EM_X86_64:
		return "amd64"
	case elf.EM_386:
		return "386"
	case elf.EM_AARCH64:
		return "arm64"
	case elf.EM_ARM:
		return "arm"
	case elf.EM_RISCV:
		if is64 {
			return "riscv64"
		}
	case elf.EM_PPC64:
		if le {
			return "ppc64le"
		}
		return "ppc64"
	case elf.EM_S390:
		return "s390x"
	case elf.EM_LOONGARCH:
		return "loong64"
	case elf.EM_MIPS:
		switch {
		case is64 && le:
			return "mips64le"
		case is64:
			return "mips64"
		case le:
			return "mipsle"
		default:
			return "mips"
		}
	}
	return f.Machine.String()
}

func machoArch(c macho.Cpu) string {
	switch c {
	case macho.CpuAmd64:
		return "amd64"
	case macho.CpuArm64:
		return "arm64"
	}
	return c.String()
}

func peArch(m uint16) string {
	switch m {
	case pe.IMAGE_FILE_MACHINE_AMD64:
		return "amd64"
	case pe.IMAGE_FILE_MACHINE_I386:
		return "386"
	case pe.IMAGE_FILE_MACHINE_ARM64:
		return "arm64"
	}
	return fmt.Sprintf("pe-machine-%#x", m)
}

// goModuleVersion returns the main module version recorded in the Go binary
// at p, or "" when there is none worth recording ("(devel)" or no build
// information).
func goModuleVersion(p string) string {
	bi, err := buildinfo.ReadFile(p)
	if err != nil || bi.Main.Version == "(devel)" {
		return ""
	}
	return bi.Main.Version
}

// goToolchain returns the Go version that built the binary at p, or "".
func goToolchain(p string) string {
	bi, err := buildinfo.ReadFile(p)
	if err != nil {
		return ""
	}
	return bi.GoVersion
}
