// Package engine is a small client for the Docker Engine API: it parses
// daemon addresses the way the docker CLI does, pings and negotiates the API
// version, posts the classic builder's /build requests, hijacks connections
// for BuildKit's /grpc and /session, and loads, pushes and inspects images
// for BuildKit's outputs. It knows nothing of cobra or the terminal.
package engine
