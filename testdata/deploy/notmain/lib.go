// Package notmain is a library: deploy must refuse it.
package notmain

// X exists so the package is not empty.
const X = 1
