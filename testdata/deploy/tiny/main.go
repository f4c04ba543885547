// Command tiny is the smallest Go program: the deploy tests cross-compile it
// to get real agent binaries of other platforms (Mach-O, foreign ELF).
package main

func main() {}
