package buildcontext

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTakeInventory(t *testing.T) {
	t.Parallel()
	dir := makeTree(t, []string{"Dockerfile=FROM scratch\n", "a/b/c.txt=12345", "a/d.txt=123", "e.txt=1", "a/skip.log=xxxxxxxx", "l -> e.txt"})
	tt, err := NewTar(dir, TarOptions{Excludes: []string{"**/*.log"}, Dockerfile: "Dockerfile"})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := TakeInventory(context.Background(), tt)
	if err != nil {
		t.Fatal(err)
	}
	want := &Inventory{
		Items: []Item{
			{Path: "Dockerfile", Type: "file", Size: 13},
			{Path: "a", Type: "dir"},
			{Path: "a/b", Type: "dir"},
			{Path: "a/b/c.txt", Type: "file", Size: 5},
			{Path: "a/d.txt", Type: "file", Size: 3},
			{Path: "e.txt", Type: "file", Size: 1},
			{Path: "l", Type: "symlink", Link: "e.txt"},
		},
		Dirs:  []DirUsage{{Path: "a", Size: 8, Files: 2}, {Path: "a/b", Size: 5, Files: 1}},
		Files: 5,
		Size:  22,
	}
	if diff := cmp.Diff(want, inv); diff != "" {
		t.Errorf("inventory (-want +got):\n%s", diff)
	}
}
