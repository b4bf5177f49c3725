// Package build is the seam between mybuild's command line and its two
// builders: the command parses its flags once into a Request, chooses a
// Builder (the classic one, POST /build, or BuildKit's), and gets back one
// Result. It knows nothing of cobra, of the terminal or of either protocol.
package build
