package classic

import (
	"context"

	"github.com/mybuild/mybuild/internal/build"
	"github.com/mybuild/mybuild/internal/dockerlog"
	"github.com/mybuild/mybuild/internal/opts"
	"github.com/mybuild/mybuild/pkg/dockerconfig"
	"github.com/mybuild/mybuild/pkg/engine"
)

func buildOptions(ctx context.Context, o *build.Request, host, dockerfile string) engine.BuildOptions {
	buildArgs := opts.ConvertKVStringsToMapWithNil(o.BuildArgs, o.LookupEnv)
	c := o.Classic
	platform := ""
	if len(o.Platforms) > 0 {
		platform = o.Platforms[0]
	}
	return engine.BuildOptions{
		Tags:           o.Tags,
		SuppressOutput: o.Quiet,
		NoCache:        o.NoCache,
		Remove:         c.Rm,
		ForceRemove:    c.ForceRm,
		PullParent:     o.Pull,
		Squash:         c.Squash,
		Isolation:      c.Isolation,
		CPUSetCPUs:     c.CPUSetCPUs,
		CPUSetMems:     c.CPUSetMems,
		CPUShares:      c.CPUShares,
		CPUQuota:       c.CPUQuota,
		CPUPeriod:      c.CPUPeriod,
		Memory:         c.Memory,
		MemorySwap:     c.MemorySwap,
		CgroupParent:   o.CgroupParent,
		NetworkMode:    o.NetworkMode,
		ShmSize:        o.ShmSize,
		Dockerfile:     dockerfile,
		Ulimits:        engineUlimits(o.Ulimits),
		BuildArgs:      o.Config.ProxyBuildArgs(host, buildArgs),
		Labels:         opts.ConvertKVStringsToMap(o.Labels),
		CacheFrom:      o.CacheFrom,
		SecurityOpt:    c.SecurityOpt,
		ExtraHosts:     o.ExtraHosts,
		Target:         o.Target,
		Platform:       platform,
		AuthConfigs:    authConfigs(o.Config.Credentials(ctx, dockerlog.New(o.IO.ErrOut))),
	}
}

// authConfigs is X-Registry-Config's map of the credentials read.
func authConfigs(creds map[string]dockerconfig.Credential) map[string]engine.AuthConfig {
	out := make(map[string]engine.AuthConfig, len(creds))
	for k, c := range creds {
		out[k] = engine.AuthConfig(c)
	}
	return out
}

func engineUlimits(in []*opts.Ulimit) []engine.Ulimit {
	out := make([]engine.Ulimit, 0, len(in))
	for _, u := range in {
		out = append(out, engine.Ulimit{Name: u.Name, Hard: u.Hard, Soft: u.Soft})
	}
	return out
}
