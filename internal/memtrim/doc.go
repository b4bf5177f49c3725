// Package memtrim gives back the pages of the executable that start-up
// touched and the rest of the run may not need.
//
// Package initialisation of the BuildKit, gRPC and containerd libraries
// runs code spread over the whole binary, and the kernel maps the
// neighbouring pages of every page it faults in: after start-up most of the
// executable is resident (18 MB of 22 MB), though a build runs a small part
// of it.
package memtrim
