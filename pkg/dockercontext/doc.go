// Package dockercontext resolves which Docker endpoint the docker CLI
// (28.2.2) would talk to, reading docker's context store, and dials
// ssh:// hosts the way docker's ssh connection helper does.
//
// It prints nothing, and [Resolve] reads the environment only through
// [Inputs.Env]; the ssh command that [SSHDialer]'s dial runs
// ([NewCommandConn]) inherits the process's environment, as docker's does.
//
// # Error messages and the "Failed to initialize" prefix
//
// docker prints the errors of this package in three different shapes:
//
//   - [ErrConflictingOptions] ("conflicting options: cannot specify both
//     --host and --context") is printed verbatim, with no prefix, before the
//     legacy-builder deprecation banner, exit status 1.
//   - Every other error returned by [Resolve] is printed as
//     "Failed to initialize: unable to resolve docker endpoint: " + err, exit
//     status 1. Use [InitPrefix] + [ResolvePrefix] + err.Error().
//   - Errors returned by [SSHDialer] (the URL checks) and by
//     [Endpoint.TLSConfig] are printed as "Failed to initialize: " + err
//     (docker builds the API client after the endpoint was resolved, so the
//     "unable to resolve docker endpoint" part is absent).
//
// Errors of a dial made by the function [SSHDialer] returns, and of reads
// and writes on its connection, reach the user through the HTTP client
// (docker: `error during connect: Post "http://docker.example.com/v1.50/build?…": command [ssh …] has exited with exit status 255, …`).
package dockercontext
