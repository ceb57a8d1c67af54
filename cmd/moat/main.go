// Command moat is a self-hosted server for the Alibaba Cloud Anti-DDoS
// Pro/Premium instance API (ddoscoo 2020-01-01), with a signed client and an
// admin client.
//
//	moat serve   run the server
//	moat edge    run only the data plane
//	moat call    call any action with a signature v1 request
//	moat admin   create accounts and instances, move the clock, read events
//	moat bench   reproduce docs/BENCHMARKS.md
//	moat migrate apply schema migrations
//	moat backup  copy a running SQLite store
//
// This package is the only place that wires concrete types together.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `moat: a self-hosted Alibaba Cloud Anti-DDoS Pro/Premium (ddoscoo) API server

Usage:
  moat serve [flags]                       run the server (moat serve -h for flags)
  moat edge --db DB [flags]                run only the data plane over a shared store
  moat call ACTION [Name=Value ...] [--region R] [--format json|xml]
                                           call an action, signed like the aliyun CLI
  moat admin COMMAND [flags]               admin API client (moat admin -h)
  moat bench [flags]                       reproduce docs/BENCHMARKS.md
  moat migrate [--db DB]                   apply schema migrations and exit
  moat backup --to PATH [--db FILE]        copy a running SQLite store
  moat version                             print the version

Environment: MOAT_ADDR, MOAT_DB, MOAT_ADMIN_TOKEN, MOAT_ACCESS_KEY_ID,
MOAT_ACCESS_KEY_SECRET, MOAT_ENDPOINT (see README.md).
`

// Version is set at build time with -ldflags "-X main.Version=…".
var Version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// errUsage marks an error that is the user's to fix; exit status 2.
var errUsage = errors.New("usage")

// run dispatches a subcommand and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = runServe(ctx, args[1:], stdout, stderr)
	case "edge":
		err = runEdge(ctx, args[1:], stdout, stderr)
	case "call":
		var code int
		code, err = runCall(ctx, args[1:], stdout, stderr)
		if err == nil {
			return code
		}
	case "admin":
		err = runAdmin(ctx, args[1:], stdout, stderr)
	case "bench":
		err = runBench(ctx, args[1:], stdout, stderr)
	case "migrate":
		err = runMigrate(ctx, args[1:], stdout, stderr)
	case "backup":
		err = runBackup(ctx, args[1:], stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "moat", Version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "moat: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintln(stderr, "moat:", err)
		return 2
	default:
		fmt.Fprintln(stderr, "moat:", err)
		return 1
	}
}

// envOr returns the environment variable or a default.
func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}
