package endpoint

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCustomHeaders(t *testing.T) {
	t.Parallel()
	got, err := customHeaders("A=1, B=x=y", map[string]string{"C": "3"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"A": "1", "B": "x=y"}, got); diff != "" {
		t.Errorf("env replaces config (-want +got):\n%s", diff)
	}
	if got, _ := customHeaders("", map[string]string{"C": "3"}); got["C"] != "3" {
		t.Errorf("config headers lost: %v", got)
	}
	if _, err := customHeaders("novalue", nil); err == nil {
		t.Error("malformed DOCKER_CUSTOM_HEADERS accepted")
	}
}
