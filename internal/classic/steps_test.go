package classic

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mybuild/mybuild/internal/build"
)

func TestSteps(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := t0
	s := &steps{now: func() time.Time { clock = clock.Add(time.Second); return clock }}
	for _, text := range []string{
		"Step 1/3 : FROM busybox\n", " ---> 0a1b2c3d4e5f\n",
		"Step 2/3 : COPY . /app\n", " ---> Using cache\n", " ---> 3d4e5f6a7b8c\n",
		"STEP 3/3: RUN make\n", " ---> Running in 5e6f7a8b9c0d\n", "cc -o app\nmake: *** no rule\r\n",
	} {
		s.stream(text)
	}
	got := s.finish(errors.New("The command '/bin/sh -c make' returned a non-zero code: 2"))
	at := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }
	want := []build.Step{
		{Name: "FROM busybox", Output: "0a1b2c3d4e5f", Started: at(1), Completed: at(2)},
		{Name: "COPY . /app", Output: "3d4e5f6a7b8c", Cached: true, Started: at(2), Completed: at(3)},
		{Name: "RUN make", Started: at(3), Completed: at(4), Log: []string{"cc -o app", "make: *** no rule"}, Error: "The command '/bin/sh -c make' returned a non-zero code: 2"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
}
