//go:build unix

package deploy

import "syscall"

func setUmask(m int) int { return syscall.Umask(m) }
