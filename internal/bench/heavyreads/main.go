// Command heavyreads measures what unpaged DescribeInstanceIds calls on a
// big account cost the server and its other tenants: the time and body of
// one call, moat's RSS growth, six concurrent calls' peak RSS, and another
// tenant's paged DescribeInstances latency meanwhile. It starts the moat
// binary it is given on a fresh store and seeds it through the admin API.
//
//	go build -o /tmp/moat ./cmd/moat
//	go run ./internal/bench/heavyreads -moat /tmp/moat [-db postgres://…] [-n 100000]
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"moat/internal/acs"
	"moat/internal/admin"
	"moat/internal/bench/proc"
)

const (
	keyA, secretA = "LTAIheavyreadsbenchkeyA1", "heavy-reads-bench-secret-a"
	acctB         = "1000000000000077"
	keyB, secretB = "LTAIheavyreadsbenchkeyB7", "heavy-reads-bench-secret-b"
	token         = "heavy-reads-bench-admin"
)

// child is the moat process; fatalf stops it before exiting (log.Fatal
// would skip the deferred Kill and leave it running).
var child *exec.Cmd

func fatalf(format string, args ...any) {
	if child != nil && child.Process != nil {
		child.Process.Kill()
	}
	log.Fatalf(format, args...)
}

func main() {
	moatBin := flag.String("moat", "moat", "the moat binary")
	db := flag.String("db", "", "store (default: a fresh SQLite file)")
	n := flag.Int("n", 100000, "instances of the big account")
	concurrent := flag.Int("concurrent", 6, "concurrent unpaged calls")
	extra := flag.String("serve-args", "", "one more serve flag, e.g. --max-heavy-reads=6")
	flag.Parse()
	if *db == "" {
		dir, err := os.MkdirTemp("", "heavyreads-")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(dir)
		*db = filepath.Join(dir, "moat.db")
	}
	args := []string{"serve", "--addr", "127.0.0.1:0", "--db", *db}
	if *extra != "" {
		args = append(args, *extra)
	}
	cmd := exec.Command(*moatBin, args...)
	cmd.Env = append(os.Environ(), "MOAT_ACCESS_KEY_ID="+keyA, "MOAT_ACCESS_KEY_SECRET="+secretA, "MOAT_ADMIN_TOKEN="+token,
		"MOAT_MASTER_KEY=5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e", "MOAT_LOG_LEVEL=warn")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	child = cmd
	defer cmd.Process.Kill()
	addrCh := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`msg="moat ready" addr=(\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addrCh <- m[1]
			}
		}
	}()
	var base string
	select {
	case a := <-addrCh:
		base = "http://" + a
	case <-time.After(30 * time.Second):
		fatalf("moat did not start")
	}
	pid := cmd.Process.Pid

	t := time.Now()
	ctx := context.Background()
	adm := &admin.Client{Endpoint: base, Token: token}
	for left := *n; left > 0; left -= 10000 {
		if err := adm.SeedInstances(ctx, admin.InstancesRequest{Count: min(left, 10000), ExpireIn: "720h"}); err != nil {
			fatalf("seed: %v", err)
		}
	}
	if _, err := adm.CreateAccount(ctx, admin.AccountRequest{AccountId: acctB, AccessKeyId: keyB, AccessKeySecret: secretB}); err != nil {
		fatalf("create account: %v", err)
	}
	if err := adm.SeedInstances(ctx, admin.InstancesRequest{AccessKeyId: keyB, Count: 10, ExpireIn: "720h"}); err != nil {
		fatalf("seed tenant B: %v", err)
	}
	fmt.Printf("seeded %d instances in %v\n", *n, time.Since(t).Round(time.Millisecond))

	describeB := func() time.Duration {
		t := time.Now()
		st, _, b := call(base, keyB, secretB, map[string]string{"Action": "DescribeInstances", "PageSize": "10", "PageNumber": "1"})
		if st != 200 || !bytes.Contains(b, []byte(`"TotalCount":10`)) {
			fatalf("tenant B: %d %.200s", st, b)
		}
		return time.Since(t)
	}
	var quiet []time.Duration
	for range 50 {
		quiet = append(quiet, describeB())
	}
	fmt.Printf("tenant B DescribeInstances alone: median %v, max %v\n", median(quiet), slices.Max(quiet))

	mem := func() proc.ProcMem {
		m, err := proc.ReadProcMem(pid)
		if err != nil {
			fatalf("%v", err)
		}
		return m
	}
	resetHWM := func() { os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0) }
	before := mem()
	resetHWM()
	t = time.Now()
	st, chunked, body := call(base, keyA, secretA, map[string]string{"Action": "DescribeInstanceIds"})
	one := time.Since(t)
	after := mem()
	fmt.Printf("one DescribeInstanceIds: %d, %v, %d bytes (chunked %v); RSS %.0f -> %.0f MB, peak %.0f MB (+%.0f MB)\n",
		st, one.Round(time.Millisecond), len(body), chunked, before.RSSMB(), after.RSSMB(), after.HWMMB(), after.HWMMB()-before.RSSMB())

	resetHWM()
	before = mem()
	var wg sync.WaitGroup
	var ok, throttled atomic.Int32
	var running atomic.Bool
	running.Store(true)
	t = time.Now()
	for range *concurrent {
		wg.Go(func() {
			st, _, b := call(base, keyA, secretA, map[string]string{"Action": "DescribeInstanceIds"})
			switch {
			case st == 200:
				ok.Add(1)
			case bytes.Contains(b, []byte("Throttling.User")):
				throttled.Add(1)
			default:
				log.Printf("unpaged call: %d %.200s", st, b)
			}
		})
	}
	var during []time.Duration
	done := make(chan struct{})
	go func() { wg.Wait(); running.Store(false); close(done) }()
	for running.Load() {
		during = append(during, describeB())
	}
	<-done
	all := time.Since(t)
	after = mem()
	fmt.Printf("%d concurrent DescribeInstanceIds: %d served, %d Throttling.User, all done in %v; RSS %.0f MB before, peak %.0f MB\n",
		*concurrent, ok.Load(), throttled.Load(), all.Round(time.Millisecond), before.RSSMB(), after.HWMMB())
	if len(during) > 0 {
		fmt.Printf("tenant B DescribeInstances meanwhile: %d calls, median %v, max %v\n", len(during), median(during), slices.Max(during))
	}
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2].Round(10 * time.Microsecond)
}

func call(base, key, secret string, params map[string]string) (int, bool, []byte) {
	params["Version"], params["RegionId"], params["Format"] = "2020-01-01", "cn-hangzhou", "JSON"
	(&acs.Client{AccessKeyID: key, AccessKeySecret: secret}).Sign("GET", params)
	resp, err := http.Get(base + "/?" + acs.EncodeQuery(params))
	if err != nil {
		fatalf("%v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		fatalf("%v", err)
	}
	return resp.StatusCode, resp.ContentLength == -1, b
}
