// Package engine is a small client for the Docker Engine API: it parses
// daemon addresses the way the docker CLI does, pings and negotiates the API
// version, and posts classic-builder /build requests. It knows nothing of
// cobra or the terminal.
package engine
