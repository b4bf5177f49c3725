package remotecontext

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestIsURLAndIsGitURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in         string
		isURL, git bool
	}{
		{"http://example.com/ctx.tar", true, false},
		{"https://example.com/ctx.tar.gz", true, false},
		{"https://github.com/docker/cli.git", true, true},
		{"http://example.com/repo.git", true, true},
		{"https://github.com/docker/cli.git#master", true, true},
		{"https://github.com/docker/cli.git#v1.0:docker", true, true},
		{"https://github.com/docker/cli.git#:dir", true, true},
		{"https://github.com/docker/cli.git#", true, false}, // empty fragment
		{"https://github.com/docker/cli.git/", true, false},
		{"https://github.com/docker/cli.gitx", true, false},
		{"https://github.com/docker/cli", true, false},
		{"https://github.com/docker/cli#master", true, false},
		{"https://host/repo.git#a\nb", true, false}, // "." does not match a newline
		{"https://host/repo.GIT", true, false},
		{"HTTPS://github.com/docker/cli.git", false, false},
		{"git://github.com/docker/cli", false, true},
		{"git://github.com/docker/cli#dev:sub", false, true},
		{"github.com/docker/cli", false, true},
		{"github.com/docker/cli.git#v1", false, true},
		{"git@github.com:docker/cli.git", false, true},
		{"git@github.com:docker/cli.git#dev", false, true},
		{"ssh://git@github.com/docker/cli.git", false, false},
		{"git+ssh://git@github.com/docker/cli.git", false, false},
		{"gitlab.com/group/repo", false, false},
		{"ftp://example.com/ctx.tar", false, false},
		{"./ctx.git", false, false},
		{"ctx", false, false},
		{"-", false, false},
		{"", false, false},
	}
	for _, tt := range tests {
		if got := IsURL(tt.in); got != tt.isURL {
			t.Errorf("IsURL(%q) = %v, want %v", tt.in, got, tt.isURL)
		}
		if got := IsGitURL(tt.in); got != tt.git {
			t.Errorf("IsGitURL(%q) = %v, want %v", tt.in, got, tt.git)
		}
	}
}

func TestParseGitURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    gitRepo
		wantErr string
	}{
		{in: "github.com/a/b", want: gitRepo{remote: "https://github.com/a/b", ref: "master", defaultRef: true}},
		{in: "github.com/a/b#dev:sub/dir", want: gitRepo{remote: "https://github.com/a/b", ref: "dev", subdir: "sub/dir"}},
		{in: "github.com/a/b#master", want: gitRepo{remote: "https://github.com/a/b", ref: "master"}}, // named: no fallback
		{in: "https://host/a/b.git", want: gitRepo{remote: "https://host/a/b.git", ref: "master", defaultRef: true}},
		{in: "http://host/a/b.git#v1", want: gitRepo{remote: "http://host/a/b.git", ref: "v1"}},
		{in: "https://host/a/b.git#:docker", want: gitRepo{remote: "https://host/a/b.git", ref: "master", subdir: "docker", defaultRef: true}},
		{in: "https://host/a/b.git#refs/pull/42/head", want: gitRepo{remote: "https://host/a/b.git", ref: "refs/pull/42/head"}},
		{in: "https://host/a/b.git#dev:", want: gitRepo{remote: "https://host/a/b.git", ref: "dev"}},
		{in: "https://host/a/b.git#dev:a:b", want: gitRepo{remote: "https://host/a/b.git", ref: "dev", subdir: "a:b"}},
		{in: "https://host/a/b.git#x%20y", want: gitRepo{remote: "https://host/a/b.git", ref: "x y"}},
		{in: "git://host:9418/b.git#dev", want: gitRepo{remote: "git://host:9418/b.git", ref: "dev"}},
		{in: "ssh://git@host/b.git#dev", want: gitRepo{remote: "ssh://git@host/b.git", ref: "dev"}},
		{in: "git@github.com:a/b.git", want: gitRepo{remote: "git@github.com:a/b.git", ref: "master", defaultRef: true}},
		{in: "git@github.com:a/b.git#v2:x", want: gitRepo{remote: "git@github.com:a/b.git", ref: "v2", subdir: "x"}},
		{in: "git@github.com:a/b.git#-v", wantErr: "invalid refspec: -v"},
		{in: "https://host/b.git#--upload-pack=x", wantErr: "invalid refspec: --upload-pack=x"},
		{in: "github.com/a/b%zz", wantErr: `parse "https://github.com/a/b%zz": invalid URL escape "%zz"`},
	}
	for _, tt := range tests {
		got, err := parseGitURL(tt.in)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("parseGitURL(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseGitURL(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(gitRepo{})); diff != "" {
			t.Errorf("parseGitURL(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
}
