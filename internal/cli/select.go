package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mybuild/mybuild/internal/build"
	"github.com/mybuild/mybuild/internal/buildkit"
	"github.com/mybuild/mybuild/internal/endpoint"
	"github.com/mybuild/mybuild/pkg/dockerconfig"
	"github.com/mybuild/mybuild/pkg/engine"
)

// selection is which builder a build goes to and what choosing it learnt:
// the daemon client and its ping, reused by the builder (docker pings once).
type selection struct {
	buildkit bool
	// refusal is set when DOCKER_BUILDKIT=1 asks for BuildKit on a daemon
	// that has none.
	refusal error
	daemon  *build.Daemon
}

// configLoader reads config.json once (its warnings are printed once).
type configLoader struct {
	once sync.Once
	cfg  *dockerconfig.Config
}

func (l *configLoader) load(dir string, stderr io.Writer) *dockerconfig.Config {
	l.once.Do(func() { l.cfg = dockerconfig.Load(dir, stderr) })
	return l.cfg
}

// newCommand returns the command for args: the classic builder's or
// BuildKit's, chosen as docker chooses (see chooseBuilder).
func newCommand(ctx context.Context, f *Factory, args []string) *cobra.Command {
	if f.configs == nil {
		f.configs = &configLoader{}
	}
	if completing(args) {
		// A Tab never waits on the daemon: the builder is guessed as for
		// --help.
		f.completeBuildKit = buildkitHelp(f.Getenv)
		return NewRootCmd(f, nil)
	}
	if helpAsked(args, f.Getenv) {
		if err := checkBuildkitEnv(f.Getenv("DOCKER_BUILDKIT")); err != nil {
			return failingCmd(err) // docker too refuses to show its help then
		}
		if buildkitHelp(f.Getenv) {
			return newBuildKitHelpCmd(f)
		}
	}
	if sel := chooseBuilder(ctx, f, args); sel != nil {
		f.selected = sel
		if sel.buildkit {
			return NewBuildKitCmd(f)
		}
	}
	return NewRootCmd(f, nil)
}

// chooseBuilder applies docker's rules: DOCKER_BUILDKIT=0 is the classic
// builder, DOCKER_BUILDKIT=1 BuildKit (refused where the daemon has none:
// Podman, Windows, API < 1.39); unset, the daemon's Builder-Version decides
// (2 is BuildKit). It returns nil when the classic command must run as it
// always has: for mybuild's own modes (help, version, completion, context
// inspection), a DOCKER_BUILDKIT=0 or a value docker rejects, and errors
// found before the daemon is asked (the classic command reports them in
// docker's order).
func chooseBuilder(ctx context.Context, f *Factory, args []string) *selection {
	g, builder, local, _ := prescan(args, f.Getenv)
	if local {
		return nil
	}
	want := f.Getenv("DOCKER_BUILDKIT")
	forced := false
	if want != "" {
		on, err := strconv.ParseBool(want)
		if err != nil || !on {
			return nil
		}
		forced = true
	}
	if checkLogLevel(g.LogLevel) != nil {
		return nil
	}
	if usesFD(g, f.Getenv) {
		// One inherited connection: opened once, by the classic builder
		// (BuildKit needs several).
		if forced {
			return &selection{buildkit: true, refusal: &StatusError{Code: 1, Message: "ERROR: BuildKit needs several connections to the daemon, and -H fd://N is a single one: use the daemon's socket, or DOCKER_BUILDKIT=0"}}
		}
		return nil
	}
	cfg := f.configs.load(g.ConfigDir, f.IO.ErrOut)
	// A builder named (or docker build made an alias of buildx build) is
	// BuildKit's, whatever the daemon prefers, as with docker.
	if name := buildkit.BuilderName(builder, f.Getenv); (name != "" && name != "default") || cfg.BuilderAlias() == "buildx" {
		forced = true
	}
	client, err := endpoint.New(g.endpoint(f.Getenv, f.IO.ErrOut), cfg)
	if err != nil {
		return nil
	}
	d := &build.Daemon{Client: client}
	sel := &selection{daemon: d}
	ping, pingErr := d.StartupPing(ctx)
	if pingErr == nil || ping.APIVersion != "" {
		client.Negotiate(ping)
	}
	answered := pingErr == nil
	noBuildKit := answered && (ping.Podman || ping.OSType == "windows" || engine.VersionLess(ping.APIVersion, "1.39"))
	switch {
	case forced:
		sel.buildkit = true
		if noBuildKit && buildkit.BuilderName(builder, f.Getenv) == "" {
			sel.refusal = buildkitRefusal(ping)
		}
	case answered && !noBuildKit && ping.BuilderVersion == "2":
		sel.buildkit = true
	}
	return sel
}

// usesFD reports an fd://N endpoint (-H, else DOCKER_HOST).
func usesFD(g GlobalOptions, getenv func(string) string) bool {
	host := getenv("DOCKER_HOST")
	if len(g.Hosts) > 0 {
		host = g.Hosts[0]
	}
	return strings.HasPrefix(host, "fd://")
}

// buildkitRefusal says why DOCKER_BUILDKIT=1 cannot be honoured.
func buildkitRefusal(p engine.Ping) error {
	why := fmt.Sprintf("its API version %s is older than 1.39", p.APIVersion)
	switch {
	case p.Podman:
		why = "it is Podman, which builds with Buildah"
	case p.OSType == "windows":
		why = "it runs Windows containers"
	}
	return &StatusError{Code: 1, Message: fmt.Sprintf("ERROR: BuildKit is enabled (DOCKER_BUILDKIT=1) but the daemon has no BuildKit: %s.\n       Unset DOCKER_BUILDKIT (or set DOCKER_BUILDKIT=0) to build with the classic builder.", why)}
}

// prescan reads the global flags (and whether a mode that needs no daemon
// is asked for) before the builder, and so the build flags, are known.
// Flags it does not know are skipped; errors are left to the command.
func prescan(args []string, getenv func(string) string) (g GlobalOptions, builder string, local, help bool) {
	fs := pflag.NewFlagSet("prescan", pflag.ContinueOnError)
	fs.ParseErrorsWhitelist.UnknownFlags = true
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	addGlobalFlags(fs, &g, getenv)
	var version bool
	var completion, list string
	var explain stringList
	fs.BoolVarP(&help, "help", "h", false, "")
	fs.BoolVar(&version, "version", false, "")
	fs.StringVar(&completion, "completion", "", "")
	fs.StringVar(&list, "list-context", "", "")
	fs.Lookup("list-context").NoOptDefVal = "plain"
	fs.Var(&explain, "explain-path", "")
	fs.StringVar(&builder, "builder", "", "")
	if err := fs.Parse(args); err != nil {
		return g, "", true, false // a bad global flag: the classic command reports it
	}
	g.tlsVerifySet = fs.Changed("tlsverify")
	g.tlsCertSet = fs.Changed("tlscert")
	g.tlsKeySet = fs.Changed("tlskey")
	local = help || version || fs.Changed("completion") || fs.Changed("list-context") || fs.Changed("explain-path")
	return g, builder, local, help && !fs.Changed("completion")
}

// helpAsked reports --help (or -h) on a line the prescan can read.
func helpAsked(args []string, getenv func(string) string) bool {
	_, _, _, help := prescan(args, getenv)
	return help
}

// buildkitHelp reports whether --help shows BuildKit's options: docker
// build with buildx installed shows buildx's help unless DOCKER_BUILDKIT
// turns BuildKit off, without asking the daemon.
func buildkitHelp(getenv func(string) string) bool {
	v := getenv("DOCKER_BUILDKIT")
	if v == "" {
		return true
	}
	on, err := strconv.ParseBool(v)
	return err == nil && on
}

// failingCmd only returns err, whatever its arguments.
func failingCmd(err error) *cobra.Command {
	cmd := &cobra.Command{
		Use: commandName, SilenceErrors: true, SilenceUsage: true,
		DisableFlagParsing: true,
		RunE:               func(*cobra.Command, []string) error { return err },
	}
	cmd.SetHelpFunc(func(*cobra.Command, []string) {})
	return cmd
}

// newBuildKitHelpCmd is the BuildKit command with mybuild's own options
// added, so that its help lists everything this line can take.
func newBuildKitHelpCmd(f *Factory) *cobra.Command {
	cmd := NewBuildKitCmd(f)
	cmd.Annotations = map[string]string{"help-note": "The classic builder (DOCKER_BUILDKIT=0, or a daemon without BuildKit) takes\ndocker build's legacy options: DOCKER_BUILDKIT=0 " + commandName + " --help lists them.\n"}
	NewRootCmd(f, nil).Flags().VisitAll(func(fl *pflag.Flag) {
		if _, ours := fl.Annotations["mybuild"]; ours && cmd.Flags().Lookup(fl.Name) == nil {
			cmd.Flags().AddFlag(fl)
		}
	})
	return cmd
}
