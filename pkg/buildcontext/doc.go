// Package buildcontext prepares a build context for the daemon: it resolves
// a local directory and its Dockerfile as the docker CLI does, and streams
// the directory as a tar honouring .dockerignore with the exact semantics
// of docker's tar writer, without holding the context in memory.
package buildcontext
