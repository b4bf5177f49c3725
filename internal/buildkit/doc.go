// Package buildkit builds with BuildKit the way `docker buildx build` does:
// it reads the build flags as buildx reads them, maps them to a SolveOpt,
// serves the session (context and Dockerfile by filesync, secrets, ssh,
// registry credentials, outputs), runs the Dockerfile frontend through the
// gateway and renders the progress with BuildKit's progressui. It knows
// nothing of cobra; the caller passes the streams and the builder.
package buildkit
