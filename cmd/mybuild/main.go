// Command mybuild is a drop-in replacement for `docker build`.
package main

import (
	"os"

	"github.com/mybuild/mybuild/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:])) }
