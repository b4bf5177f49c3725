package cli

import (
	"context"

	"github.com/mybuild/mybuild/internal/build"
	"github.com/mybuild/mybuild/internal/classic"
	"github.com/mybuild/mybuild/internal/endpoint"
	"github.com/mybuild/mybuild/pkg/dockerconfig"
)

// runClassic builds with the classic builder: docker's checks before the
// flags, the daemon, then the build.
func runClassic(ctx context.Context, o *BuildOptions) error {
	cfg, err := preflight(o)
	if err != nil {
		return err
	}
	if err := o.report.check(); err != nil {
		return err
	}
	d, err := o.daemon(cfg)
	if err != nil {
		return err
	}
	return buildWithReport(ctx, classic.Builder{}, o.request(cfg, d), "classic", o.report)
}

// daemon is the one the builder was chosen with (pinged already), else
// the one the endpoint flags name.
func (o *BuildOptions) daemon(cfg *dockerconfig.Config) (*build.Daemon, error) {
	if o.selected != nil {
		return o.selected.daemon, nil
	}
	c, err := endpoint.New(o.Global.endpoint(o.Getenv, o.IO.ErrOut), cfg)
	if err != nil {
		return nil, err
	}
	return &build.Daemon{Client: c}, nil
}

// request is the classic build's Request: the flags' values, read once.
func (o *BuildOptions) request(cfg *dockerconfig.Config, d *build.Daemon) *build.Request {
	var platforms []string
	if o.Platform != "" {
		platforms = []string{o.Platform}
	}
	return &build.Request{
		Input: build.Input{
			ContextPath:    o.Context,
			DockerfilePath: o.Dockerfile,
			Tags:           o.Tags.GetAll(),
			BuildArgs:      o.BuildArgs.GetAll(),
			Labels:         o.Labels.GetAll(),
			Target:         o.Target,
			Platforms:      platforms,
			NetworkMode:    o.NetworkMode,
			ExtraHosts:     o.ExtraHosts.GetAll(),
			CgroupParent:   o.CgroupParent,
			ShmSize:        o.ShmSize.Value(),
			Ulimits:        o.Ulimits.GetList(),
			NoCache:        o.NoCache,
			Pull:           o.Pull,
			CacheFrom:      o.CacheFrom,
			ImageIDFile:    o.ImageIDFile,
			Quiet:          o.Quiet,
			Progress:       o.Progress,
		},
		Classic: build.Classic{
			CPUShares:   o.CPUShares,
			CPUPeriod:   o.CPUPeriod,
			CPUQuota:    o.CPUQuota,
			CPUSetCPUs:  o.CPUSetCPUs,
			CPUSetMems:  o.CPUSetMems,
			Memory:      o.Memory.Value(),
			MemorySwap:  o.MemorySwap.Value(),
			Isolation:   o.Isolation,
			Rm:          o.Rm,
			ForceRm:     o.ForceRm,
			SecurityOpt: o.SecurityOpt,
			Squash:      o.Squash,
			Compress:    o.Compress,
			CompressSet: o.compressSet,
			Untrusted:   o.Untrusted,
			Requires:    o.requires,
		},
		IO:        o.IO,
		Getenv:    o.Getenv,
		LookupEnv: o.LookupEnv,
		Debug:     o.Global.Debug,
		Config:    cfg,
		Daemon:    d,
	}
}
