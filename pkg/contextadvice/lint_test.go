package contextadvice

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/mybuild/mybuild/pkg/dockerignore"
)

func TestWarnings(t *testing.T) {
	t.Parallel()
	mb := strings.Repeat("m", 1e6)
	line := func(n int, p string) *dockerignore.Rule { return &dockerignore.Rule{Pattern: p, Line: n} }
	for _, tc := range []struct {
		name     string
		tree     []string
		patterns []string
		sources  []string
		// dockerfile is "Dockerfile" when empty.
		dockerfile string
		want       []Warning
		message    string // of the first warning, when set
	}{
		{name: "secrets", tree: []string{".env=S=1", ".env.example=S=", "deploy/id_rsa=k", "deploy/id_rsa.pub=p", "certs/server.pem=c", ".aws/credentials=a", "ignored/.env=x", "ok.txt=o"},
			patterns: []string{"ignored"},
			want:     []Warning{{Kind: KindSecret, Paths: []string{".aws/credentials", ".env", "certs/server.pem", "deploy/id_rsa"}, Count: 4}},
			message:  "4 files that look like secrets are sent: .aws/credentials, .env, certs/server.pem, deploy/id_rsa; list them in .dockerignore"},
		{name: "top level only, nothing at the top", tree: []string{"logs/app.log=2"}, patterns: []string{"*.log"},
			want: []Warning{{Kind: KindTopOnly, Rule: line(1, "*.log"), Paths: []string{"logs/app.log"}, Count: 1}}},
		{name: "top level only", tree: []string{"app.log=1", "logs/app.log=2", "logs/old/x.log=3", "node_modules/b.js=4", "test/fixtures/node_modules/a.js=5", "test/fixtures/node_modules/c.log=6"},
			patterns: []string{"*.log", "node_modules"},
			want: []Warning{
				{Kind: KindTopOnly, Rule: line(1, "*.log"), Paths: []string{"logs/app.log", "logs/old/x.log", "test/fixtures/node_modules/c.log"}, Count: 3},
				{Kind: KindTopOnly, Rule: line(2, "node_modules"), Paths: []string{"test/fixtures/node_modules"}, Count: 1},
			},
			message: `.dockerignore line 1: "*.log" matches at the top of the context only: logs/app.log, logs/old/x.log, test/fixtures/node_modules/c.log are sent; write "**/*.log" to leave them out too`},
		{name: "meant for the top", tree: []string{"build/x=1", "src/build/y=2", "src/a=3"},
			patterns: []string{"/build", "*", "!src"}},
		{name: "matches nothing", tree: []string{"a=1"}, patterns: []string{"dist", "", "# x", "!keep"},
			want:    []Warning{{Kind: KindNoMatch, Rule: line(1, "dist")}, {Kind: KindNoMatch, Rule: line(4, "!keep")}},
			message: `.dockerignore line 1: "dist" matches nothing`},
		{name: "an exception docker does not look for", tree: []string{"node_modules/a/keep.js=1", "node_modules/a/drop.js=2"},
			patterns: []string{"node_modules", "!**/keep.js"},
			want:     []Warning{{Kind: KindNoReinclude, Rule: line(2, "!**/keep.js"), Paths: []string{"node_modules/a/keep.js"}}},
			message:  `.dockerignore line 2: "!**/keep.js" re-includes nothing: it matches node_modules/a/keep.js, but docker does not look inside node_modules/ (excluded by line 1) for a "!" pattern that does not start with "node_modules/"`},
		{name: "an exception for what is sent anyway", tree: []string{"src/a.go=1", "x.md=2"},
			patterns: []string{"*.md", "!src"},
			want:     []Warning{{Kind: KindNoReinclude, Rule: line(2, "!src")}}},
		{name: "useful exceptions", tree: []string{"README.md=1", "x.md=2", "dir/keep=3", "dir/drop=4", "node_modules/p/a.py=5"},
			patterns: []string{"*.md", "!README.md", "dir", "!dir/keep", "node_modules", "!node_modules/p/*.py"}},
		{name: "an exception docker stops looking for", tree: []string{"node_modules/p/a.py=5", "node_modules/p/b.js=6"},
			patterns: []string{"node_modules", "!node_modules/**/*.py"},
			want:     []Warning{{Kind: KindNoReinclude, Rule: line(2, "!node_modules/**/*.py"), Paths: []string{"node_modules/p/a.py"}}},
			message:  `.dockerignore line 2: "!node_modules/**/*.py" re-includes nothing: it matches node_modules/p/a.py, but docker does not look inside node_modules/p/ (excluded by line 1) for a "!" pattern that does not start with "node_modules/p/"`},
		{name: "unused", tree: []string{"src/main.go=1", "go.mod=2", "assets/video.mp4=" + mb + mb, "data/big.bin=" + mb, "data/small=s", "docs/a=1"},
			sources: []string{"src", "go.mod"},
			want:    []Warning{{Kind: KindUnused, Paths: []string{"assets", "data"}, Count: 2}},
			message: "no COPY or ADD of Dockerfile reads assets/ (2MB), data/ (1MB): 3MB of the 3MB sent for nothing; list them in .dockerignore"},
		{name: "unused below what is read in part", tree: []string{"assets/logo.png=1", "assets/video.mp4=" + mb},
			sources: []string{"assets/logo.png"},
			want:    []Warning{{Kind: KindUnused, Paths: []string{"assets/video.mp4"}, Count: 1}}},
		{name: "unused with wildcards", tree: []string{"pkg/a/x.go=1", "pkg/a/blob=" + mb, "pkg/b/y.go=" + mb},
			sources: []string{"pkg/*/*.go"},
			want:    []Warning{{Kind: KindUnused, Paths: []string{"pkg/a/blob"}, Count: 1}}},
		{name: "the Dockerfile's directory is read", tree: []string{"build/Dockerfile=" + mb, "build/blob=" + mb},
			sources: []string{"src"}, dockerfile: "build/Dockerfile",
			want: []Warning{{Kind: KindUnused, Paths: []string{"build/blob"}, Count: 1}}},
		{name: "all is copied", tree: []string{"big=" + mb}, sources: []string{"."}},
		{name: "sources not known", tree: []string{"big=" + mb}, sources: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tree(t, append([]string{"Dockerfile=FROM scratch\n", ".dockerignore=" + strings.Join(tc.patterns, "\n")}, tc.tree...)...)
			rs, err := dockerignore.ReadRules(dir)
			if err != nil {
				t.Fatal(err)
			}
			df := tc.dockerfile
			if df == "" {
				df = "Dockerfile"
			}
			rep, err := Walk(context.Background(), Options{Dir: dir, Rules: rs, Dockerfile: df, Sources: tc.sources, Top: 5})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, rep.Warnings, cmpopts.IgnoreFields(Warning{}, "Message"), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
			if tc.message != "" && len(rep.Warnings) > 0 && rep.Warnings[0].Message != tc.message {
				t.Errorf("message:\n got %q\nwant %q", rep.Warnings[0].Message, tc.message)
			}
		})
	}
}
