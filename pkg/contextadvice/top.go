package contextadvice

import (
	"container/heap"
	"path"
	"slices"
	"strings"
)

// top keeps the n heaviest nodes the walk offers. A directory weighs at
// least what any entry below it does and ranks above it on a tie, so the
// kept nodes are a tree: every kept node's parent is kept too.
type top struct {
	n     int // 0: keep all
	nodes nodeHeap
}

func newTop(n int) *top { return &top{n: n} }

// above ranks a before b: heavier, then shallower, then by path.
func above(a, b *Node) bool {
	if wa, wb := a.Weight(), b.Weight(); wa != wb {
		return wa > wb
	}
	if a.depth != b.depth {
		return a.depth < b.depth
	}
	return a.Path < b.Path
}

// nodeHeap has the lowest ranked node first.
type nodeHeap []*Node

func (h nodeHeap) Len() int           { return len(h) }
func (h nodeHeap) Less(i, j int) bool { return above(h[j], h[i]) }
func (h nodeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *nodeHeap) Push(x any)        { *h = append(*h, x.(*Node)) }
func (h *nodeHeap) Pop() any {
	old := *h
	n := old[len(old)-1]
	*h = old[:len(old)-1]
	return n
}

func (t *top) offer(nd *Node) {
	switch {
	case t.n == 0 || len(t.nodes) < t.n:
		heap.Push(&t.nodes, nd)
	case above(nd, t.nodes[0]):
		t.nodes[0] = nd
		heap.Fix(&t.nodes, 0)
	}
}

// dropBelow forgets the nodes below dir, which is shown as one entry.
func (t *top) dropBelow(dir string) {
	kept := t.nodes[:0]
	for _, nd := range t.nodes {
		if !strings.HasPrefix(nd.Path, dir+"/") {
			kept = append(kept, nd)
		}
	}
	clear(t.nodes[len(kept):])
	t.nodes = kept
	heap.Init(&t.nodes)
}

// build hangs the kept nodes below root, largest first, and counts what
// each directory does not show.
func (t *top) build(root *Node) {
	byPath := map[string]*Node{".": root}
	for _, nd := range t.nodes {
		byPath[nd.Path] = nd
	}
	for _, nd := range t.nodes {
		parent := path.Dir(nd.Path)
		for byPath[parent] == nil {
			parent = path.Dir(parent)
		}
		byPath[parent].Children = append(byPath[parent].Children, nd)
	}
	var finish func(nd *Node)
	finish = func(nd *Node) {
		slices.SortFunc(nd.Children, func(a, b *Node) int {
			if above(a, b) {
				return -1
			}
			return 1
		})
		nd.MoreSent, nd.MoreNotSent = nd.Sent.Bytes, nd.NotSent.Bytes
		for _, c := range nd.Children {
			nd.MoreSent -= c.Sent.Bytes
			nd.MoreNotSent -= c.NotSent.Bytes
			finish(c)
		}
		if nd.Excluded || !nd.Dir {
			nd.MoreSent, nd.MoreNotSent = 0, 0
		} else {
			nd.More = nd.children - len(nd.Children)
		}
	}
	finish(root)
	t.nodes = nil
}
