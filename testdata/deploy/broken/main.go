// Command broken does not compile: deploy must report the build failure.
package main

func main() { undefinedFunction() }
