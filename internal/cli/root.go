package cli

import (
	"io"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mybuild/mybuild/internal/build"
	"github.com/mybuild/mybuild/internal/endpoint"
	"github.com/mybuild/mybuild/internal/iostreams"
	"github.com/mybuild/mybuild/internal/opts"
	"github.com/mybuild/mybuild/internal/version"
	"github.com/mybuild/mybuild/pkg/dockerconfig"
)

const (
	commandName = "mybuild"
	useLine     = commandName + " [OPTIONS] PATH | URL | -"
)

// Factory holds what commands need from the outside world.
type Factory struct {
	IO        *iostreams.IOStreams
	Getenv    func(string) string
	LookupEnv func(string) (string, bool)

	configs  *configLoader
	selected *selection // the builder chosen before the command ran
	// completeBuildKit: the command completes a BuildKit line (see
	// mergeBuildKitFlags).
	completeBuildKit bool
}

// GlobalOptions are docker's top-level flags that matter to a build.
type GlobalOptions struct {
	Hosts        []string
	Context      string
	ConfigDir    string
	Debug        bool
	LogLevel     string
	TLS          bool
	TLSVerify    bool
	TLSCACert    string
	TLSCert      string
	TLSKey       string
	tlsVerifySet bool
	tlsCertSet   bool
	tlsKeySet    bool
}

// BuildOptions are the raw flag values of the classic builder's command
// (docker build's legacy flags, docker's global ones and mybuild's own);
// request turns them into the build's Request.
type BuildOptions struct {
	IO        *iostreams.IOStreams
	Getenv    func(string) string
	LookupEnv func(string) (string, bool)
	Global    GlobalOptions

	Context      string
	Dockerfile   string
	Tags         *opts.ListOpts
	Labels       *opts.ListOpts
	BuildArgs    *opts.ListOpts
	ExtraHosts   *opts.ListOpts
	Ulimits      *opts.UlimitOpt
	Memory       opts.MemBytes
	MemorySwap   opts.MemSwapBytes
	ShmSize      opts.MemBytes
	CPUShares    int64
	CPUPeriod    int64
	CPUQuota     int64
	CPUSetCPUs   string
	CPUSetMems   string
	CgroupParent string
	Isolation    string
	Quiet        bool
	NoCache      bool
	Rm           bool
	ForceRm      bool
	Pull         bool
	CacheFrom    []string
	Compress     bool
	compressSet  bool
	SecurityOpt  []string
	NetworkMode  string
	Squash       bool
	Target       string
	ImageIDFile  string
	Platform     string
	Untrusted    bool
	Progress     string
	Inspect      inspectOptions
	completion   string
	requires     []build.Requirement
	report       reportOptions
	configs      *configLoader
	selected     *selection
}

// NewRootCmd returns the mybuild command. runF, when set, replaces the
// build (tests capture the parsed options with it).
func NewRootCmd(f *Factory, runF func(*BuildOptions) error) *cobra.Command {
	o := &BuildOptions{
		IO:         f.IO,
		Getenv:     f.Getenv,
		LookupEnv:  f.LookupEnv,
		Tags:       opts.NewListOpts(opts.ValidateTag),
		Labels:     opts.NewListOpts(opts.ValidateLabel),
		BuildArgs:  opts.NewListOpts(opts.ValidateEnv),
		ExtraHosts: opts.NewListOpts(opts.ValidateExtraHost),
		Ulimits:    opts.NewUlimitOpt(nil),
		configs:    f.configs,
		selected:   f.selected,
	}
	if o.configs == nil {
		o.configs = &configLoader{}
	}
	cmd := &cobra.Command{
		Use:           commandName + " [OPTIONS] PATH | URL | -",
		Short:         "Build an image from a Dockerfile (a drop-in replacement for \"docker build\")",
		Version:       version.String() + ", " + runtime.Version(),
		SilenceErrors: true,
		SilenceUsage:  true,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && o.Inspect.active() {
				return nil // they look at "." then
			}
			if len(args) != 1 && !cmd.Flags().Changed("completion") {
				if _, err := preflight(o); err != nil {
					return err
				}
				return withHint(&StatusError{Code: 1, Message: commandName + ": '" + commandName + "' requires 1 argument\n\nUsage:  " + useLine + "\n\nRun '" + commandName + " --help' for more information"}, argsHint(o, cmd, args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.completion != "" {
				return writeCompletion(cmd, o.completion, o.IO.Out)
			}
			o.Context = "."
			if len(args) > 0 {
				o.Context = args[0]
			}
			if err := checkProgress(o); err != nil {
				return err
			}
			fl := cmd.Flags()
			o.requires = daemonRequirements(fl)
			o.compressSet = fl.Changed("compress")
			o.Global.tlsVerifySet = fl.Changed("tlsverify")
			o.Global.tlsCertSet = fl.Changed("tlscert")
			o.Global.tlsKeySet = fl.Changed("tlskey")
			if runF != nil {
				return runF(o)
			}
			if o.Inspect.active() {
				return hinted(runInspect(cmd.Context(), o), o)
			}
			return hinted(runClassic(cmd.Context(), o), o)
		},
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return nil, cobra.ShellCompDirectiveFilterDirs
		},
	}
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		// docker has checked the log level and read config.json (printing
		// its warnings) before it parses the build flags.
		if err := checkLogLevel(o.Global.LogLevel); err != nil {
			return err
		}
		o.configs.load(o.Global.ConfigDir, o.IO.ErrOut)
		return withHint(flagError(err), flagHint(c.Flags(), err))
	})
	// The completion script comes from --completion: cobra's default
	// "completion" command would take a context directory of that name.
	cmd.CompletionOptions.DisableDefaultCmd = true
	cmd.SetVersionTemplate("mybuild version {{.Version}}\n")
	setHelp(cmd, f.IO.TerminalWidth())
	cmd.Flags().SortFlags = false

	addGlobalFlags(cmd.Flags(), &o.Global, f.Getenv)
	addBuildFlags(cmd.Flags(), o, f.Getenv)
	addInspectFlags(cmd.Flags(), &o.Inspect)
	addReportFlags(cmd.Flags(), &o.report, f.Getenv)
	if f.completeBuildKit {
		mergeBuildKitFlags(cmd.Flags(), NewBuildKitCmd(f).Flags())
	}
	// Defined here so that cobra does not add its -v shorthand: docker
	// build has none, and "-v /a:/b" must fail as an unknown flag.
	cmd.Flags().Bool("version", false, "Print the version and quit")
	cmd.Flags().StringVar(&o.completion, "completion", "", "Print the completion script for a shell (bash, zsh, fish, powershell)")
	_ = cmd.Flags().SetAnnotation("completion", "mybuild", []string{"true"})
	registerCompletions(cmd, o)
	return cmd
}

// endpoint is what the global flags say of the daemon.
func (g GlobalOptions) endpoint(getenv func(string) string, stderr io.Writer) endpoint.Options {
	return endpoint.Options{
		Hosts: g.Hosts, Context: g.Context, ConfigDir: g.ConfigDir, Debug: g.Debug, LogLevel: g.LogLevel,
		TLS: g.TLS, TLSVerify: g.TLSVerify, TLSCACert: g.TLSCACert, TLSCert: g.TLSCert, TLSKey: g.TLSKey,
		TLSVerifySet: g.tlsVerifySet, TLSCertSet: g.tlsCertSet, TLSKeySet: g.tlsKeySet,
		Getenv: getenv, Stderr: stderr,
	}
}

func addGlobalFlags(fl *pflag.FlagSet, g *GlobalOptions, getenv func(string) string) {
	fl.VarP((*stringList)(&g.Hosts), "host", "H", "Daemon socket to connect to")
	fl.StringVar(&g.Context, "context", "", `Name of the context to use to connect to the daemon (overrides DOCKER_HOST env var and default context set with "docker context use")`)
	fl.StringVar(&g.ConfigDir, "config", "", `Location of client config files (default "~/.docker")`)
	fl.BoolVarP(&g.Debug, "debug", "D", false, "Enable debug mode")
	fl.StringVarP(&g.LogLevel, "log-level", "l", "info", `Set the logging level ("debug", "info", "warn", "error", "fatal")`)
	fl.BoolVar(&g.TLS, "tls", getenv("DOCKER_TLS") != "", "Use TLS; implied by --tlsverify")
	fl.BoolVar(&g.TLSVerify, "tlsverify", getenv("DOCKER_TLS_VERIFY") != "", "Use TLS and verify the remote")
	certDir := getenv("DOCKER_CERT_PATH")
	if certDir == "" {
		certDir = dockerconfig.Dir()
	}
	fl.StringVar(&g.TLSCACert, "tlscacert", filepath.Join(certDir, "ca.pem"), "Trust certs signed only by this CA")
	fl.StringVar(&g.TLSCert, "tlscert", filepath.Join(certDir, "cert.pem"), "Path to TLS certificate file")
	fl.StringVar(&g.TLSKey, "tlskey", filepath.Join(certDir, "key.pem"), "Path to TLS key file")
	for _, n := range []string{"context", "config", "debug", "log-level", "tls", "tlsverify", "tlscacert", "tlscert", "tlskey"} {
		_ = fl.SetAnnotation(n, "global", []string{"true"})
	}
	_ = fl.SetAnnotation("host", "global", []string{"true"})
}

func addBuildFlags(fl *pflag.FlagSet, o *BuildOptions, getenv func(string) string) {
	fl.Var(o.ExtraHosts, "add-host", `Add a custom host-to-IP mapping ("host:ip")`)
	fl.Var(o.BuildArgs, "build-arg", "Set build-time variables")
	fl.StringSliceVar(&o.CacheFrom, "cache-from", []string{}, "Images to consider as cache sources")
	fl.StringVar(&o.CgroupParent, "cgroup-parent", "", `Set the parent cgroup for the "RUN" instructions during build`)
	fl.BoolVar(&o.Compress, "compress", false, "Compress the build context using gzip")
	fl.Int64Var(&o.CPUPeriod, "cpu-period", 0, "Limit the CPU CFS (Completely Fair Scheduler) period")
	fl.Int64Var(&o.CPUQuota, "cpu-quota", 0, "Limit the CPU CFS (Completely Fair Scheduler) quota")
	fl.Int64VarP(&o.CPUShares, "cpu-shares", "c", 0, "CPU shares (relative weight)")
	fl.StringVar(&o.CPUSetCPUs, "cpuset-cpus", "", "CPUs in which to allow execution (0-3, 0,1)")
	fl.StringVar(&o.CPUSetMems, "cpuset-mems", "", "MEMs in which to allow execution (0-3, 0,1)")
	fl.BoolVar(&o.Untrusted, "disable-content-trust", !trustEnabled(getenv), "Skip image verification")
	fl.StringVarP(&o.Dockerfile, "file", "f", "", `Name of the Dockerfile (Default is "PATH/Dockerfile")`)
	fl.BoolVar(&o.ForceRm, "force-rm", false, "Always remove intermediate containers")
	fl.StringVar(&o.ImageIDFile, "iidfile", "", "Write the image ID to the file")
	fl.StringVar(&o.Isolation, "isolation", "", "Container isolation technology")
	fl.Var(o.Labels, "label", "Set metadata for an image")
	fl.VarP(&o.Memory, "memory", "m", "Memory limit")
	fl.Var(&o.MemorySwap, "memory-swap", `Swap limit equal to memory plus swap: -1 to enable unlimited swap`)
	fl.StringVar(&o.NetworkMode, "network", "default", "Set the networking mode for the RUN instructions during build")
	_ = fl.SetAnnotation("network", "version", []string{"1.25"})
	fl.BoolVar(&o.NoCache, "no-cache", false, "Do not use cache when building the image")
	fl.StringVar(&o.Platform, "platform", getenv("DOCKER_DEFAULT_PLATFORM"), "Set platform if server is multi-platform capable")
	_ = fl.SetAnnotation("platform", "version", []string{"1.38"})
	fl.StringVar(&o.Progress, "progress", "auto", `Output: "auto" (tty on a terminal, plain otherwise), "tty" (live view), "plain" (docker's output), "quiet" (like -q)`)
	_ = fl.SetAnnotation("progress", "mybuild", []string{"true"})
	fl.BoolVar(&o.Pull, "pull", false, "Always attempt to pull a newer version of the image")
	fl.BoolVarP(&o.Quiet, "quiet", "q", false, "Suppress the build output and print image ID on success")
	fl.BoolVar(&o.Rm, "rm", true, "Remove intermediate containers after a successful build")
	fl.StringSliceVar(&o.SecurityOpt, "security-opt", []string{}, "Security options")
	fl.Var(&o.ShmSize, "shm-size", `Size of "/dev/shm"`)
	fl.BoolVar(&o.Squash, "squash", false, "Squash newly built layers into a single new layer")
	_ = fl.SetAnnotation("squash", "version", []string{"1.25"})
	_ = fl.SetAnnotation("squash", "experimental", nil)
	fl.VarP(o.Tags, "tag", "t", `Name and optionally a tag in the "name:tag" format`)
	fl.StringVar(&o.Target, "target", "", "Set the target build stage to build.")
	fl.Var(o.Ulimits, "ulimit", "Ulimit options")
}

// trustEnabled mirrors docker: DOCKER_CONTENT_TRUST set to a true or
// non-boolean value turns content trust on.
func trustEnabled(getenv func(string) string) bool {
	v := getenv("DOCKER_CONTENT_TRUST")
	if v == "" {
		return false
	}
	t, err := strconv.ParseBool(v)
	return t || err != nil
}

// stringList is docker's "list" flag type without validation.
type stringList []string

func (l *stringList) String() string {
	if len(*l) == 0 {
		return ""
	}
	return "[" + strings.Join(*l, " ") + "]"
}
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }
func (l *stringList) Type() string       { return "list" }
