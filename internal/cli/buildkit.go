package cli

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mybuild/mybuild/internal/build"
	"github.com/mybuild/mybuild/internal/buildkit"
	"github.com/mybuild/mybuild/internal/endpoint"
	"github.com/mybuild/mybuild/internal/iostreams"
	"github.com/mybuild/mybuild/internal/opts"
	"github.com/mybuild/mybuild/internal/version"
)

// buildkitOptions are the raw flag values of a BuildKit build: buildx's
// build flags, docker's global ones and mybuild's own.
type buildkitOptions struct {
	IO        *iostreams.IOStreams
	Getenv    func(string) string
	LookupEnv func(string) (string, bool)
	Global    GlobalOptions
	req       build.Request // most flags are its fields
	shmSize   opts.MemBytes
	ulimits   *opts.UlimitOpt
	report    reportOptions
	configs   *configLoader
	selected  *selection
}

// NewBuildKitCmd returns the command that builds with BuildKit, with the
// flags `docker buildx build` has (the classic-only ones hidden, as buildx
// hides them).
func NewBuildKitCmd(f *Factory) *cobra.Command {
	o := &buildkitOptions{
		IO: f.IO, Getenv: f.Getenv, LookupEnv: f.LookupEnv,
		ulimits: opts.NewUlimitOpt(nil), configs: f.configs, selected: f.selected,
	}
	if o.configs == nil {
		o.configs = &configLoader{}
	}
	cmd := &cobra.Command{
		Use:           useLine,
		Short:         "Build an image from a Dockerfile (a drop-in replacement for \"docker build\")",
		Version:       version.String() + ", " + runtime.Version(),
		SilenceErrors: true,
		SilenceUsage:  true,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return &StatusError{Code: 1, Message: "ERROR: " + commandName + ": '" + commandName + "' requires 1 argument\n\nUsage:  " + useLine + "\n\nRun '" + commandName + " --help' for more information"}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.req.ContextPath = args[0]
			cmd.Flags().VisitAll(func(fl *pflag.Flag) {
				if msg, ok := fl.Annotations["flag-warn"]; ok && fl.Changed {
					fmt.Fprintf(o.IO.ErrOut, "WARNING: %s\n", msg[0])
				}
			})
			return runBuildKit(cmd.Context(), o)
		},
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return nil, cobra.ShellCompDirectiveFilterDirs
		},
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return flagError(err) })
	cmd.CompletionOptions.DisableDefaultCmd = true
	cmd.SetVersionTemplate("mybuild version {{.Version}}\n")
	setHelp(cmd, f.IO.TerminalWidth())
	cmd.Flags().SortFlags = false
	addGlobalFlags(cmd.Flags(), &o.Global, f.Getenv)
	addBuildKitFlags(cmd.Flags(), o, f.Getenv)
	addReportFlags(cmd.Flags(), &o.report, f.Getenv)
	cmd.Flags().Bool("version", false, "Print the version and quit")
	return cmd
}

func addBuildKitFlags(fl *pflag.FlagSet, o *buildkitOptions, getenv func(string) string) {
	r, bk := &o.req.Input, &o.req.BuildKit
	fl.StringSliceVar(&r.ExtraHosts, "add-host", []string{}, `Add a custom host-to-IP mapping (format: "host:ip")`)
	fl.StringArrayVar(&bk.Allow, "allow", []string{}, `Allow extra privileged entitlement (e.g., "network.host", "security.insecure", "device", "buildx.local.delete")`)
	fl.StringArrayVar(&bk.Annotations, "annotation", []string{}, "Add annotation to the image")
	fl.StringArrayVar(&r.BuildArgs, "build-arg", []string{}, "Set build-time variables")
	fl.StringArrayVar(&r.CacheFrom, "cache-from", []string{}, `External cache sources (e.g., "user/app:cache", "type=local,src=path/to/dir")`)
	fl.StringArrayVar(&bk.CacheTo, "cache-to", []string{}, `Cache export destinations (e.g., "user/app:cache", "type=local,dest=path/to/dir")`)
	fl.StringVar(&r.CgroupParent, "cgroup-parent", "", `Set the parent cgroup for the "RUN" instructions during build`)
	fl.StringArrayVar(&bk.NamedContexts, "build-context", []string{}, "Additional build contexts (e.g., name=path)")
	fl.StringVarP(&r.DockerfilePath, "file", "f", "", `Name of the Dockerfile (default: "PATH/Dockerfile")`)
	fl.StringVar(&r.ImageIDFile, "iidfile", "", "Write the image ID to a file")
	fl.StringArrayVar(&r.Labels, "label", []string{}, "Set metadata for an image")
	fl.BoolVar(&bk.Load, "load", false, `Shorthand for "--output=type=docker"`)
	fl.StringVar(&r.NetworkMode, "network", "default", `Set the networking mode for the "RUN" instructions during build`)
	fl.StringArrayVar(&bk.NoCacheFilter, "no-cache-filter", []string{}, "Do not cache specified stages")
	fl.StringArrayVarP(&bk.Outputs, "output", "o", []string{}, `Output destination (format: "type=local,dest=path")`)
	var platforms []string
	if v := getenv("DOCKER_DEFAULT_PLATFORM"); v != "" {
		platforms = []string{v}
	}
	fl.StringArrayVar(&r.Platforms, "platform", platforms, "Set target platform for build")
	fl.StringArrayVar(&bk.Policy, "policy", []string{}, `Policy configuration (format: "filename=path[,filename=path][,reset=true|false][,disabled=true|false][,strict=true|false][,log-level=level]")`)
	fl.BoolVar(&bk.Push, "push", false, `Shorthand for "--output=type=registry,unpack=false"`)
	fl.BoolVarP(&r.Quiet, "quiet", "q", false, "Suppress the build output and print image ID on success")
	fl.StringArrayVar(&bk.Secrets, "secret", []string{}, `Secret to expose to the build (format: "id=mysecret[,src=/local/secret]")`)
	fl.Var(&o.shmSize, "shm-size", `Shared memory size for build containers`)
	fl.StringArrayVar(&bk.SSH, "ssh", []string{}, `SSH agent socket or keys to expose to the build (format: "default|<id>[=<socket>|<key>[,<key>]]")`)
	fl.StringArrayVarP(&r.Tags, "tag", "t", []string{}, `Image identifier (format: "[registry/]repository[:tag]")`)
	fl.StringVar(&r.Target, "target", "", "Set the target build stage to build")
	fl.Var(o.ulimits, "ulimit", "Ulimit options")
	fl.StringArrayVar(&bk.Resources, "resource", []string{}, `Resource limits for build containers (format: "memory=2g", "cpu-quota=50000")`)
	fl.StringArrayVar(&bk.Attests, "attest", []string{}, `Attestation parameters (format: "type=sbom,generator=image")`)
	fl.StringVar(&bk.SBOM, "sbom", "", `Shorthand for "--attest=type=sbom"`)
	fl.StringVar(&bk.Provenance, "provenance", "", `Shorthand for "--attest=type=provenance"`)
	fl.StringVar(&bk.Call, "call", "build", `Set method for evaluating build ("check", "outline", "targets")`)
	fl.Var(callAlias{&bk.Call}, "check", `Shorthand for "--call=check"`)
	fl.Lookup("check").NoOptDefVal = "true"
	fl.BoolVar(&r.NoCache, "no-cache", false, "Do not use cache when building the image")
	fl.StringVar(&r.Progress, "progress", "auto", `Set type of progress output ("auto", "none",  "plain", "quiet", "rawjson", "tty"). Use plain to show container output`)
	fl.BoolVar(&r.Pull, "pull", false, "Always attempt to pull all referenced images")
	fl.StringVar(&bk.MetadataFile, "metadata-file", "", "Write build result metadata to a file")
	fl.StringVar(&bk.Builder, "builder", "", "Override the configured builder instance")

	// Hidden, as in buildx: the print alias, the legacy resource flags
	// (mapped onto --resource) and the classic builder's flags it ignores.
	fl.StringVar(&bk.Call, "print", "", "Print result of information request (e.g., outline, targets)")
	_ = fl.MarkHidden("print")
	for _, res := range []struct{ name, short, usage string }{
		{"memory", "m", "Memory limit"},
		{"memory-swap", "", `Swap limit equal to memory plus swap: "-1" to enable unlimited swap`},
		{"cpu-shares", "c", "CPU shares (relative weight)"},
		{"cpu-period", "", "Limit the CPU CFS (Completely Fair Scheduler) period"},
		{"cpu-quota", "", "Limit the CPU CFS (Completely Fair Scheduler) quota"},
		{"cpuset-cpus", "", `CPUs in which to allow execution ("0-3", "0,1")`},
		{"cpuset-mems", "", `MEMs in which to allow execution ("0-3", "0,1")`},
	} {
		fl.VarP(resourceValue{res.name, &bk.Resources}, res.name, res.short, res.usage)
		_ = fl.MarkHidden(res.name)
	}
	var ignoreBool bool
	var ignore string
	var ignoreSlice []string
	fl.BoolVar(&ignoreBool, "compress", false, "Compress the build context using gzip")
	fl.StringVar(&ignore, "isolation", "", "Container isolation technology")
	_ = fl.SetAnnotation("isolation", "flag-warn", []string{"isolation flag is deprecated with BuildKit."})
	fl.StringSliceVar(&ignoreSlice, "security-opt", []string{}, "Security options")
	_ = fl.SetAnnotation("security-opt", "flag-warn", []string{`security-opt flag is deprecated. "RUN --security=insecure" should be used with BuildKit.`})
	fl.BoolVar(&ignoreBool, "squash", false, "Squash newly built layers into a single new layer")
	_ = fl.SetAnnotation("squash", "flag-warn", []string{"experimental flag squash is removed with BuildKit. You should squash inside build using a multi-stage Dockerfile for efficiency."})
	fl.BoolVar(&ignoreBool, "rm", true, "Remove intermediate containers after a successful build")
	fl.BoolVar(&ignoreBool, "force-rm", false, "Always remove intermediate containers")
	for _, n := range []string{"compress", "isolation", "security-opt", "squash", "rm", "force-rm"} {
		_ = fl.MarkHidden(n)
	}
}

// resourceValue feeds a legacy flag (-m 2g) into --resource (memory=2g).
type resourceValue struct {
	key  string
	list *[]string
}

func (v resourceValue) String() string     { return "" }
func (v resourceValue) Type() string       { return "string" }
func (v resourceValue) Set(s string) error { *v.list = append(*v.list, v.key+"="+s); return nil }

// callAlias is --check: a true value means --call=check.
type callAlias struct{ call *string }

func (c callAlias) String() string   { return "" }
func (c callAlias) Type() string     { return "bool" }
func (c callAlias) IsBoolFlag() bool { return true }
func (c callAlias) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	if v {
		*c.call = "check"
	}
	return nil
}

// runBuildKit builds on the builder chosen for this invocation.
func runBuildKit(ctx context.Context, o *buildkitOptions) error {
	sel := o.selected
	if sel != nil && sel.refusal != nil {
		return sel.refusal
	}
	if sel == nil || sel.daemon == nil {
		return errors.New("internal error: no daemon client for BuildKit")
	}
	cfg := o.configs.load(o.Global.ConfigDir, o.IO.ErrOut)
	r := &o.req
	r.ShmSize = o.shmSize.Value()
	r.Ulimits = o.ulimits.GetList()
	r.IO, r.Getenv, r.LookupEnv = o.IO, o.Getenv, o.LookupEnv
	r.Debug = o.Global.Debug
	r.Config = cfg
	r.DockerContext = endpoint.ContextName(o.Global.endpoint(o.Getenv, o.IO.ErrOut), cfg)
	r.Daemon = sel.daemon
	if err := o.report.check(); err != nil {
		return err
	}
	return buildWithReport(ctx, buildkit.Builder{}, r, "buildkit", o.report)
}
