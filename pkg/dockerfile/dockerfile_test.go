package dockerfile

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	t.Parallel()
	df := "# syntax=docker/dockerfile:1\n" +
		"# escape=`\n" +
		"FROM golang:1.26 AS build\n" +
		"# a comment\n" +
		"COPY --chown=1:1 go.mod `\n" +
		"  # inside\n" +
		"  go.sum /src/\n" +
		"RUN <<EOF\n" +
		"COPY not-an-instruction /\n" +
		"EOF\n" +
		"copy [\"a b\", \"/dst\"]\r\n" +
		"FROM\tscratch as final\n" +
		"COPY --from=build /out /\n"
	got, err := Parse(strings.NewReader(df))
	if err != nil {
		t.Fatal(err)
	}
	want := []Instruction{
		{Line: 3, Cmd: "FROM", Args: []string{"golang:1.26", "AS", "build"}},
		{Line: 5, Cmd: "COPY", Flags: []string{"--chown=1:1"}, Args: []string{"go.mod", "go.sum", "/src/"}},
		{Line: 8, Cmd: "RUN", Args: []string{"<<EOF"}},
		{Line: 11, Cmd: "COPY", Args: []string{"a b", "/dst"}},
		{Line: 12, Cmd: "FROM", Args: []string{"scratch", "as", "final"}},
		{Line: 13, Cmd: "COPY", Flags: []string{"--from=build"}, Args: []string{"/out", "/"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Parse (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"build", "final"}, Stages(got)); diff != "" {
		t.Errorf("Stages (-want +got):\n%s", diff)
	}
	unnamed, _ := Parse(strings.NewReader("FROM a\nFROM b AS b\nRUN x\nFROM c\n"))
	if diff := cmp.Diff([]string{"", "b", ""}, FromNames(unnamed)); diff != "" {
		t.Errorf("FromNames (-want +got):\n%s", diff)
	}
}

func TestSources(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		df        string
		want      []string
		wantKnown bool
	}{
		{"copy and add", "FROM x\nCOPY ./src/ /app/\nADD /vendor/*.tgz a.txt /\n", []string{"src", "vendor/*.tgz", "a.txt"}, true},
		{"everything", "FROM x\nCOPY . .\n", []string{"."}, true},
		{"from a stage, a URL, a heredoc", "FROM x\nCOPY --from=b /o /\nADD https://e.x/f /\nCOPY <<EOF /f\nx\nEOF\n", nil, true},
		{"a variable", "FROM x\nARG D=src\nCOPY $D /\n", nil, false},
		{"destination only", "FROM x\nCOPY /\n", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ins, err := Parse(strings.NewReader(tc.df))
			if err != nil {
				t.Fatal(err)
			}
			got, known := Sources(ins)
			if diff := cmp.Diff(tc.want, got); diff != "" || known != tc.wantKnown {
				t.Errorf("Sources = %q, %v; want %q, %v", got, known, tc.want, tc.wantKnown)
			}
		})
	}
}
