#!/usr/bin/env python3
"""Benchmark driver: starts the loopback servers, runs every client as its
own process per workload, prints a table, writes JSON and a gnuplot PNG.
Called by bench/run.sh; see bench/README.md."""

import argparse
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ONE_KIB = 1024


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def run_measured(cmd, timeout):
    """Runs cmd; returns (rc, stdout, stderr, rusage) of that child alone."""
    out = tempfile.TemporaryFile()
    err = tempfile.TemporaryFile()
    p = subprocess.Popen(cmd, stdout=out, stderr=err)
    deadline = time.time() + timeout
    hwm = 0  # peak RSS, polled: ru_maxrss would include the driver's own RSS
    while True:
        try:
            with open(f"/proc/{p.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        hwm = max(hwm, int(line.split()[1]))
        except (OSError, ValueError):
            pass
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        if time.time() > deadline:
            p.kill()
            pid, status, ru = os.wait4(p.pid, 0)
            status = -1
            break
        time.sleep(0.01)
    p.returncode = os.waitstatus_to_exitcode(status) if status != -1 else -9
    out.seek(0)
    err.seek(0)
    return p.returncode, out.read().decode(errors="replace"), err.read().decode(errors="replace"), ru, hwm


class Servers:
    def __init__(self, tmp, bench_bin, big_bytes, lifetime):
        self.tmp = tmp
        self.procs = []
        self.docroot = os.path.join(tmp, "www")
        os.makedirs(self.docroot)
        with open(os.path.join(self.docroot, "1k.bin"), "wb") as f:
            f.write(b"x" * ONE_KIB)
        with open(os.path.join(self.docroot, "big.bin"), "wb") as f:
            f.truncate(big_bytes)  # sparse: no disk cost
        self.nginx_port = self.start_nginx()
        self.delay_port = None
        self.bench_bin = bench_bin
        self.lifetime = lifetime
        self.h2_port = self.start_nghttpd()

    def start_nginx(self):
        if not shutil.which("nginx") and not os.path.exists("/usr/sbin/nginx"):
            print("skip: nginx not installed (HTTP/1.1 and big-download workloads)")
            return None
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        port = free_port()
        t = self.tmp
        user = "user root;\n" if os.geteuid() == 0 else ""
        conf = f"""{user}worker_processes 1;
worker_rlimit_nofile 20000;
daemon off;
master_process on;
pid {t}/nginx.pid;
error_log {t}/nginx-error.log warn;
events {{ worker_connections 16384; multi_accept on; }}
http {{
  access_log off;
  client_body_temp_path {t}/client_body;
  proxy_temp_path {t}/proxy;
  fastcgi_temp_path {t}/fastcgi;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  default_type application/octet-stream;
  server {{
    listen 127.0.0.1:{port} backlog=4096;
    root {self.docroot};
    location / {{ }}
    location = /nginx_status {{ stub_status; }}
  }}
}}
"""
        path = os.path.join(t, "nginx.conf")
        with open(path, "w") as f:
            f.write(conf)
        p = subprocess.Popen([nginx, "-p", t, "-e", f"{t}/nginx-error.log", "-c", path],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.procs.append(p)
        if not wait_port(port, p):
            print("nginx failed to start:", open(f"{t}/nginx-error.log").read()
                  if os.path.exists(f"{t}/nginx-error.log") else "", file=sys.stderr)
            raise SystemExit(1)
        return port

    def start_delay(self, delay_ms):
        p = subprocess.Popen([self.bench_bin, "delay-server", "--port", "0", "--delay-ms",
                              str(delay_ms), "--body-bytes", str(ONE_KIB),
                              "--max-seconds", str(self.lifetime)],
                             stdout=subprocess.PIPE, text=True)
        self.procs.append(p)
        line = p.stdout.readline()
        m = re.match(r"PORT (\d+)", line)
        if not m:
            raise SystemExit("delay-server did not start")
        return int(m.group(1))

    def start_nghttpd(self):
        if not shutil.which("nghttpd"):
            print("skip: nghttpd not installed (HTTP/2 over TLS workload)")
            return None
        if not shutil.which("openssl"):
            print("skip: openssl CLI not installed (HTTP/2 over TLS workload)")
            return None
        key = os.path.join(self.tmp, "key.pem")
        cert = os.path.join(self.tmp, "cert.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key, "-out", cert],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port = free_port()
        p = subprocess.Popen(["nghttpd", "-a", "127.0.0.1", "-d", self.docroot, "-m", "100",
                              str(port), key, cert],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(p)
        if not wait_port(port, p):
            print("skip: nghttpd did not start")
            return None
        return port

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def nginx_accepts(port):
    """Connections nginx accepted so far (stub_status), this query's own included."""
    if not port:
        return None
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/nginx_status", timeout=5) as f:
            m = re.search(r"\n\s*(\d+)\s+\d+\s+\d+", f.read().decode())
            return int(m.group(1)) if m else None
    except OSError:
        return None


def count_syscalls(cmd, timeout):
    """Runs cmd once more under perf stat (or strace -f -c): (syscalls, stdout).
    A separate run: the CPU figures never come from a traced process."""
    tmpf = tempfile.NamedTemporaryFile(prefix="syscalls-", delete=False)
    tmpf.close()
    try:
        if shutil.which("perf"):
            wrapped = ["perf", "stat", "-x", ",", "-e", "raw_syscalls:sys_enter", "-o", tmpf.name,
                       "--"] + cmd
        elif shutil.which("strace"):
            wrapped = ["strace", "-f", "-c", "-o", tmpf.name] + cmd
        else:
            return None, ""
        p = subprocess.run(wrapped, capture_output=True, text=True, timeout=timeout)
        text = open(tmpf.name).read()
        if wrapped[0] == "perf":
            m = re.search(r"^\s*(\d+),[^\n]*raw_syscalls:sys_enter", text, re.M)
        else:
            m = re.search(r"^-+.*\n\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)", text, re.M)
        return (int(m.group(1)) if m else None), p.stdout
    except (OSError, subprocess.TimeoutExpired):
        return None, ""
    finally:
        os.unlink(tmpf.name)


SYSCALL_TOOL = "perf stat -e raw_syscalls:sys_enter" if shutil.which("perf") else \
    ("strace -f -c" if shutil.which("strace") else None)


def run_own_client(bench_bin, kind, url, conc, requests, extra, max_seconds, nginx_port=None,
                   syscall_requests=None):
    cmd = [bench_bin, "client", kind, "--url", url, "--concurrency", str(conc),
           "--requests", str(requests), "--max-seconds", str(max_seconds)] + extra
    before = nginx_accepts(nginx_port)
    rc, out, err, _, _ = run_measured(cmd, max_seconds + 60)
    after = nginx_accepts(nginx_port)
    line = out.strip().splitlines()[-1] if out.strip() else ""
    try:
        r = json.loads(line)
    except ValueError:
        r = {"client": kind, "requests": 0, "ok": 0, "seconds": 0, "user_us": 0, "sys_us": 0,
             "max_rss_kb": 0, "error": f"rc={rc} {err.strip()[-300:]}"}
    r["rc"] = rc
    if before is not None and after is not None:
        r["connects_server"] = after - before - 1  # less the status query's own
    if r.get("connects", -1) < 0:
        r.pop("connects", None)
    if syscall_requests:
        add_syscalls(r, cmd[:cmd.index("--requests") + 1] + [str(syscall_requests)] +
                     cmd[cmd.index("--requests") + 2:], max_seconds, own=True)
    return r


def add_syscalls(r, cmd, max_seconds, own):
    """Syscalls per request from a second, shorter run of the same client."""
    n, out = count_syscalls(cmd, max_seconds + 120)
    done = 0
    if own:
        try:
            done = json.loads(out.strip().splitlines()[-1])["requests"]
        except (ValueError, IndexError, KeyError):
            done = 0
    else:
        m = re.search(r"requests: \d+ total, \d+ started, (\d+) done", out)
        done = int(m.group(1)) if m else 0
    if n is not None and done:
        r["syscalls"] = n
        r["syscall_run_requests"] = done
        r["syscalls_per_req"] = n / done


def run_h2load(url, conc, requests, streams, h1, max_seconds, nginx_port=None, syscall_requests=None):
    def command(n):
        cmd = ["h2load", "-n", str(n), "-c", str(conc), "-t", "1", "-m", str(streams)]
        if h1:
            cmd.append("--h1")
        return cmd + [url]
    cmd = command(requests)
    before = nginx_accepts(nginx_port)
    rc, out, err, ru, hwm = run_measured(cmd, max_seconds + 60)
    after = nginx_accepts(nginx_port)
    m = re.search(r"finished in ([\d.]+)(m?s)", out)
    done = re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded", out)
    codes = re.search(r"status codes: (\d+) 2xx", out)
    seconds = float(m.group(1)) / (1000.0 if m and m.group(2) == "ms" else 1.0) if m else 0.0
    requests_done = int(done.group(1)) if done else 0
    ok = min(int(done.group(2)), int(codes.group(1))) if done and codes else 0
    r = {"client": "h2load", "concurrency": conc, "requested": requests,
         "requests": requests_done, "ok": ok, "seconds": seconds,
         "user_us": int(ru.ru_utime * 1e6), "sys_us": int(ru.ru_stime * 1e6),
         "max_rss_kb": hwm, "rc": rc,
         "error": "" if rc == 0 and ok == requests else (err.strip() or out.strip())[-300:]}
    if before is not None and after is not None:
        r["connects_server"] = after - before - 1
    if syscall_requests:
        add_syscalls(r, command(syscall_requests), max_seconds, own=False)
    return r


def proc_cpu_us(pid):
    """utime + stime of a live process, in µs (/proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) * 1e6 / tick, int(fields[12]) * 1e6 / tick


def vm_hwm_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


class Proxy:
    """examples/beast_proxy in front of `upstream`, on a port it picks and prints."""

    def __init__(self, binary, upstream):
        self.p = subprocess.Popen([binary, "127.0.0.1", "0", upstream],
                                  stdout=subprocess.PIPE, text=True)
        m = re.search(r":(\d+)$", self.p.stdout.readline().strip())
        if not m:
            self.stop()
            raise SystemExit("beast_proxy did not start")
        self.port = int(m.group(1))
        self.pid = self.p.pid

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        return self.p.returncode


def run_proxy_wrk(proxy_bin, upstream, path, conc, seconds):
    """wrk -> beast_proxy -> upstream; CPU and peak RSS are the proxy's."""
    px = Proxy(proxy_bin, upstream)
    try:
        u0, s0 = proc_cpu_us(px.pid)
        cmd = ["wrk", "-t2", f"-c{conc}", f"-d{seconds}s", px.url(path)]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
        u1, s1 = proc_cpu_us(px.pid)
        hwm = vm_hwm_kb(px.pid)
    finally:
        rc = px.stop()
    out = p.stdout
    done = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out)
    requests = int(done.group(1)) if done else 0
    secs = float(done.group(2)) / (1000.0 if done and done.group(3) == "ms" else 1.0) if done else 0
    bad = sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    bad += int(non2xx.group(1)) if non2xx else 0
    return {"client": "beast_proxy", "requested": requests, "requests": requests,
            "ok": max(requests - bad, 0), "seconds": secs, "user_us": int(u1 - u0),
            "sys_us": int(s1 - s0), "max_rss_kb": hwm,
            "rc": p.returncode if rc == 0 else rc,
            "error": "" if p.returncode == 0 and not bad else (p.stderr + out).strip()[-300:]}


def run_proxy_big(proxy_bin, upstream, path, size):
    """curl -> beast_proxy -> upstream, one big body; the proxy's CPU and peak RSS."""
    px = Proxy(proxy_bin, upstream)
    try:
        u0, s0 = proc_cpu_us(px.pid)
        hwm0 = vm_hwm_kb(px.pid)
        p = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{size_download} %{time_total}",
                            px.url(path)], capture_output=True, text=True, timeout=300)
        u1, s1 = proc_cpu_us(px.pid)
        hwm = vm_hwm_kb(px.pid)
    finally:
        rc = px.stop()
    got, secs = (p.stdout.split() + ["0", "0"])[:2]
    ok = p.returncode == 0 and int(got) == size
    return {"client": "beast_proxy", "requested": 1, "requests": 1, "ok": 1 if ok else 0,
            "seconds": float(secs), "user_us": int(u1 - u0), "sys_us": int(s1 - s0),
            "max_rss_kb": hwm, "rss_before_kb": hwm0, "rc": p.returncode if rc == 0 else rc,
            "error": "" if ok else f"{got} of {size} bytes; {p.stderr.strip()[-300:]}"}


def derive(r):
    n = max(r.get("requests", 0), 1)
    secs = r.get("seconds", 0) or 1e-9
    r["rps"] = r.get("requests", 0) / secs
    r["cpu_us_per_req"] = (r.get("user_us", 0) + r.get("sys_us", 0)) / n
    if "mallocs" in r:
        r["mallocs_per_req"] = r["mallocs"] / n
    # Connections opened: nginx's own count where there is one, else libcurl's.
    if "connects_server" in r:
        r["connects_per_run"] = r["connects_server"]
    elif "connects" in r:
        r["connects_per_run"] = r["connects"]
    if r.get("body_bytes"):
        r["mib_per_s"] = r.get("requests", 0) * r["body_bytes"] / (1 << 20) / secs
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--big-bytes", type=int, default=None)
    ap.add_argument("--proxy-bin", default=None, help="examples/beast_proxy, for the proxy workloads")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    smoke = args.smoke
    big = args.big_bytes or (8 << 20 if smoke else 1 << 30)
    # (requests, max seconds per run); a run stops starting transfers when the
    # time is up, so the whole bench is bounded either way.
    # h1: (in flight, requests, requests of the syscall-counting run or None).
    if smoke:
        h1 = [(1, 200, None), (64, 2000, 500), (1000, 3000, None)]
        admit = [(1000, 64, 3000)]  # (outstanding, max running, requests)
        pools = [(1000, 4, 1, 3000), (64, 2, 2, 2000)]  # (in flight, engines, threads, requests)
        h2_requests, h2_sys, slow_conc, slow_requests, slow_delay, max_s = 1000, None, 200, 400, 100, 10
        big_reps = 1
    else:
        h1 = [(1, 20000, 3000), (64, 50000, 10000), (1000, 60000, 10000), (4000, 60000, 12000)]
        # Admission limit and pool over the in-flight counts of the plot; the
        # pool of 2 engines on 1 and on 2 threads for throughput per thread.
        admit = [(1000, 64, 60000), (4000, 64, 60000)]
        pools = [(64, 16, 1, 50000), (1000, 16, 1, 60000), (4000, 16, 1, 60000),
                 (64, 2, 1, 50000), (64, 2, 2, 50000)]
        h2_requests, h2_sys, slow_conc, slow_requests, slow_delay, max_s = 60000, 10000, 4000, 8000, 1000, 15
        big_reps = 3
    h1_clients = ("curlasio", "floor", "curl_multi_same_work", "curl_multi", "beast")
    have_h2load = shutil.which("h2load") is not None
    if not have_h2load:
        print("skip: h2load not installed (ceiling column)")

    tmp = tempfile.mkdtemp(prefix="curlasio-bench-")
    results = []
    failures = []
    started = time.time()
    servers = Servers(tmp, args.bin, big, lifetime=900 if not smoke else 120)
    try:
        def record(workload, conc, r):
            r["workload"] = workload
            if workload in ("big", "proxy_big"):
                r["body_bytes"] = big
            r["concurrency"] = conc
            derive(r)
            results.append(r)
            good = r.get("rc", 1) == 0 and r["ok"] == r["requests"] and r["requests"] > 0
            if smoke and r["requests"] != r.get("requested", r["requests"]):
                good = False
            if not good:
                failures.append(f"{workload} {r['client']}: {r['ok']}/{r['requests']} ok; "
                                f"{r.get('error', '')}")
            extra = ""
            if "mallocs_per_req" in r:
                extra += f" mallocs/req {r['mallocs_per_req']:.1f}"
            if "syscalls_per_req" in r:
                extra += f" syscalls/req {r['syscalls_per_req']:.2f}"
            if "connects_per_run" in r:
                extra += f" connects {r['connects_per_run']}"
            print(f"  {workload:<18} {r['client']:<20} c={conc:<5} n={r['requests']:<7} "
                  f"{r['rps']:>10.1f} req/s {r['cpu_us_per_req']:>8.1f} us/req "
                  f"rss {r['max_rss_kb']:>7} KiB{extra} {'ok' if good else 'FAILED'}", flush=True)

        if servers.nginx_port:
            url = f"http://127.0.0.1:{servers.nginx_port}/1k.bin"
            port = servers.nginx_port
            for conc, n, sys_n in h1:
                w = f"h1_{conc}"
                for kind in h1_clients:
                    record(w, conc, run_own_client(args.bin, kind, url, conc, n,
                                                   ["--expect-bytes", str(ONE_KIB)], max_s, port, sys_n))
                if have_h2load:
                    record(w, conc, run_h2load(url, conc, n, 1, True, max_s, port, sys_n))
            # Many outstanding, few inside libcurl: the engine's admission limit.
            for out_n, running, n in admit:
                record(f"h1_{out_n}_admit{running}", out_n,
                       run_own_client(args.bin, "curlasio", url, out_n, n,
                                      ["--expect-bytes", str(ONE_KIB), "--max-running", str(running)],
                                      max_s, port, None if smoke else 12000))
            # The engine pool: several CURLMs on one thread (thousands of
            # connections), and one engine per thread (every core).
            for conc, engines, threads, n in pools:
                record(f"h1_{conc}_pool{engines}x{threads}t", conc,
                       run_own_client(args.bin, "curlasio", url, conc, n,
                                      ["--expect-bytes", str(ONE_KIB), "--engines", str(engines),
                                       "--threads", str(threads)], max_s, port, None))
            url = f"http://127.0.0.1:{servers.nginx_port}/big.bin"
            # One download per process, clients interleaved, the median run of
            # each kept: single big downloads vary by 2x or more on a shared VM.
            kinds = ["curlasio", "curl_easy", "curl_multi", "beast"] + \
                (["h2load"] if have_h2load else [])
            runs = {k: [] for k in kinds}
            for _ in range(big_reps):
                for kind in kinds:
                    if kind == "h2load":
                        r = run_h2load(url, 1, 1, 1, True, 120)
                    else:
                        r = run_own_client(args.bin, kind, url, 1, 1,
                                           ["--expect-bytes", str(big), "--discard-body",
                                            "--buffer-size", str(16384)], 120)
                    runs[kind].append(derive(r))
            for kind in kinds:
                rs = sorted(runs[kind], key=lambda r: r["rps"])
                bad = [r for r in rs if r.get("rc", 1) != 0 or r["ok"] != r["requests"]]
                chosen = bad[0] if bad else rs[len(rs) // 2]
                chosen["all_seconds"] = [round(r["seconds"], 3) for r in runs[kind]]
                record("big", 1, chosen)

        # The streaming proxy example in front of nginx: wrk through it (the
        # proxy's CPU per request), then one big download through it (its
        # peak RSS), each with a proxy process of its own.
        proxy_bin = args.proxy_bin
        if servers.nginx_port and proxy_bin and os.access(proxy_bin, os.X_OK) and shutil.which("wrk"):
            upstream = f"http://127.0.0.1:{servers.nginx_port}"
            conc, secs = (8, 1) if smoke else (64, 5)
            record("proxy_wrk", conc, run_proxy_wrk(proxy_bin, upstream, "/1k.bin", conc, secs))
            if shutil.which("curl"):
                record("proxy_big", 1, run_proxy_big(proxy_bin, upstream, "/big.bin", big))
            else:
                print("skip: curl not installed (proxy big download)")
        else:
            print("skip: beast_proxy, wrk or nginx missing (proxy workloads)")

        if servers.h2_port:
            url = f"https://127.0.0.1:{servers.h2_port}/1k.bin"
            extra = ["--expect-bytes", str(ONE_KIB), "--http2", "--insecure", "--connections", "1"]
            for kind in ("curlasio", "floor", "curl_multi_same_work", "curl_multi"):
                record("h2_tls_100", 100, run_own_client(args.bin, kind, url, 100, h2_requests,
                                                         extra, max_s, None, h2_sys))
            if have_h2load:
                record("h2_tls_100", 100, run_h2load(url, 1, h2_requests, 100, False, max_s, None, h2_sys))

        delay_port = servers.start_delay(slow_delay)
        servers.delay_port = delay_port
        url = f"http://127.0.0.1:{delay_port}/slow"
        for kind in ("curlasio", "curl_multi", "beast"):
            record(f"slow_{slow_conc}", slow_conc,
                   run_own_client(args.bin, kind, url, slow_conc, slow_requests,
                                  ["--expect-bytes", str(ONE_KIB)], max_s + 30))
        if have_h2load:
            record(f"slow_{slow_conc}", slow_conc,
                   run_h2load(url, slow_conc, slow_requests, 1, True, max_s + 30))
    finally:
        servers.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    elapsed = time.time() - started
    if smoke:
        for f in failures:
            print("FAILED:", f)
        print(f"smoke: {len(results) - len(failures)}/{len(results)} runs correct "
              f"in {elapsed:.1f} s")
        return 1 if failures else 0

    report = analyse(results, slow_conc)
    report["machine"] = machine()
    report["syscall_tool"] = SYSCALL_TOOL
    report["elapsed_seconds"] = round(elapsed, 1)
    report["big_bytes"] = big
    report["failures"] = failures
    out = args.out
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "latest.json"), "w") as f:
        json.dump(report, f, indent=1)
    table = render(report)
    with open(os.path.join(out, "latest.md"), "w") as f:
        f.write(table)
    print(table)
    plot(results, out)
    for f in failures:
        print("FAILED:", f)
    return 1 if failures else 0


def find(results, workload, client):
    for r in results:
        if r["workload"] == workload and r["client"] == client:
            return r
    return None


def analyse(results, slow_conc):
    baselines = ("floor", "curl_multi_same_work", "curl_multi", "curl_easy", "beast", "h2load")
    for r in results:
        if r["client"] != "curlasio":
            continue
        fl = find(results, r["workload"], "floor")
        if fl and "mallocs_per_req" in fl and "mallocs_per_req" in r:
            r["engine_mallocs_per_req"] = r["mallocs_per_req"] - fl["mallocs_per_req"]
        if fl and "syscalls_per_req" in fl and "syscalls_per_req" in r:
            r["engine_syscalls_per_req"] = r["syscalls_per_req"] - fl["syscalls_per_req"]
        ratios = {}
        for b in baselines:
            br = find(results, r["workload"], b)
            if br and br["rps"] > 0 and br["cpu_us_per_req"] > 0:
                ratios[b] = {"rps": r["rps"] / br["rps"],
                             "cpu": r["cpu_us_per_req"] / br["cpu_us_per_req"]}
        r["ratios"] = ratios

    targets = []

    def target(name, value, limit, op):
        if value is None:
            targets.append({"target": name, "value": None, "limit": limit, "met": None})
            return
        met = {">=": value >= limit, "<=": value <= limit, "<": value < limit,
               "==": value == limit}[op]
        targets.append({"target": name, "value": round(value, 3), "limit": limit, "op": op,
                        "met": met})

    def cpu_ratio(wa, ca, wb, cb):
        x, y = find(results, wa, ca), find(results, wb, cb)
        if x and y and y["cpu_us_per_req"] > 0 and x["requests"] and y["requests"]:
            return x["cpu_us_per_req"] / y["cpu_us_per_req"]
        return None

    # Issue 9's targets.
    for w in ("h1_1", "h1_64"):
        target(f"{w}: curlasio CPU/req vs floor", cpu_ratio(w, "curlasio", w, "floor"), 1.05, "<=")
        target(f"{w}: curlasio CPU/req vs curl_multi_same_work",
               cpu_ratio(w, "curlasio", w, "curl_multi_same_work"), 1.0, "<")
    a = find(results, "h1_64", "curlasio")
    target(f"h1_64: connections opened by curlasio over {a['requests'] if a else '?'} requests",
           a.get("connects_per_run") if a else None, 64, "==")
    target("h1_64: engine's own mallocs/req (curlasio - floor)",
           a.get("engine_mallocs_per_req") if a else None, 2, "<=")
    target("curlasio CPU/req, 4000 connections vs 64", cpu_ratio("h1_4000", "curlasio", "h1_64", "curlasio"),
           2.5, "<=")
    def widest(match):
        # The workload of that kind with the most in flight, if one ran.
        rs = [r for r in results if match(r["workload"])]
        return max(rs, key=lambda r: r["concurrency"])["workload"] if rs else None

    pool1 = widest(lambda w: "_pool" in w and w.endswith("x1t"))
    target(f"curlasio CPU/req, {pool1 or 'pool on one thread'} vs one engine at 64",
           cpu_ratio(pool1, "curlasio", "h1_64", "curlasio") if pool1 else None, 2.5, "<=")
    pool2 = widest(lambda w: w.startswith("h1_64_pool") and not w.endswith("x1t"))
    p2, m64 = (find(results, pool2, "curlasio") if pool2 else None), find(results, "h1_64", "curl_multi")
    target(f"{pool2 or 'pool over threads'}: req/s vs plain libcurl loop at 64",
           p2["rps"] / m64["rps"] if p2 and m64 and m64["rps"] > 0 else None, 1.3, ">=")
    admit_w = widest(lambda w: "_admit" in w)
    target(f"curlasio CPU/req, {admit_w or 'admit'} (outstanding, admission limit) vs 64 in flight",
           cpu_ratio(admit_w, "curlasio", "h1_64", "curlasio") if admit_w else None, 1.2, "<=")

    # Earlier targets (bench/README.md).
    a, m, b = (find(results, "h1_64", c) for c in ("curlasio", "curl_multi", "beast"))
    target("h1 64 in flight: req/s vs plain libcurl loop",
           a and m and a["rps"] / m["rps"], 1.3, ">=")
    target("h1 64 in flight: CPU/req vs Beast",
           a and b and a["cpu_us_per_req"] / b["cpu_us_per_req"], 1.5, "<=")
    a4 = find(results, "h1_4000", "curlasio")
    target("curlasio CPU/req at 4000 vs at 64",
           a and a4 and a4["cpu_us_per_req"] / a["cpu_us_per_req"], 1.2, "<=")
    a, m = find(results, "h2_tls_100", "curlasio"), find(results, "h2_tls_100", "curl_multi")
    target("h2 TLS 100 streams: req/s vs plain libcurl loop", a and m and a["rps"] / m["rps"],
           1.0, ">=")
    a, e = find(results, "big", "curlasio"), find(results, "big", "curl_easy")
    target("big download: throughput vs curl_easy_perform", a and e and a["rps"] / e["rps"],
           1.0, ">=")
    w = f"slow_{slow_conc}"
    a, m = find(results, w, "curlasio"), find(results, w, "curl_multi")
    target(f"memory per in-flight transfer beyond libcurl (KiB, {slow_conc} in flight)",
           a and m and (a["max_rss_kb"] - m["max_rss_kb"]) / slow_conc, 2.0, "<=")
    return {"results": results, "targets": targets}


def machine():
    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        mem = open("/proc/meminfo").readline().split(":", 1)[1].strip()
    except OSError:
        pass
    # The libcurl loaded at run time (CURL=8 bench/run.sh sets LD_LIBRARY_PATH),
    # as the curl tool reports it; curl-config names the headers' package.
    curl = ""
    if shutil.which("curl"):
        m = re.search(r"libcurl/(\S+)", subprocess.run(["curl", "-V"], capture_output=True, text=True).stdout)
        curl = "libcurl " + m.group(1) if m else ""
    if not curl and shutil.which("curl-config"):
        curl = subprocess.run(["curl-config", "--version"], capture_output=True, text=True).stdout.strip()
    return {"cpu": cpu, "cores": os.cpu_count(), "memory": mem, "kernel": platform.release(),
            "os": platform.platform(), "libcurl": curl}


def rps_cell(r):
    if "mib_per_s" in r:
        return f"{r['rps']:.2f} ({r['mib_per_s']:.0f} MiB/s)"
    return f"{r['rps']:.0f}"


def render(report):
    lines = ["| workload | client | in flight | requests | req/s | CPU µs/req | peak RSS KiB "
             "| mallocs/req | engine mallocs/req | syscalls/req | connects "
             "| CPU ÷ floor | CPU ÷ curl_multi_same_work "
             "| req/s ÷ curl_multi | CPU ÷ curl_multi | req/s ÷ beast | CPU ÷ beast "
             "| req/s ÷ h2load | req/s ÷ curl_easy |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in report["results"]:
        rt = r.get("ratios", {})

        def cell(b, k):
            return f"{rt[b][k]:.2f}" if b in rt else ""

        def num(k, fmt):
            return format(r[k], fmt) if k in r else ""
        lines.append(f"| {r['workload']} | {r['client']} | {r['concurrency']} | {r['requests']} "
                     f"| {rps_cell(r)} | {r['cpu_us_per_req']:.1f} | {r['max_rss_kb']} "
                     f"| {num('mallocs_per_req', '.1f')} | {num('engine_mallocs_per_req', '.1f')} "
                     f"| {num('syscalls_per_req', '.2f')} | {num('connects_per_run', 'd')} "
                     f"| {cell('floor', 'cpu')} | {cell('curl_multi_same_work', 'cpu')} "
                     f"| {cell('curl_multi', 'rps')} | {cell('curl_multi', 'cpu')} "
                     f"| {cell('beast', 'rps')} | {cell('beast', 'cpu')} "
                     f"| {cell('h2load', 'rps')} | {cell('curl_easy', 'rps')} |")
    lines.append("")
    lines.append(f"syscalls/req: a second, shorter run of the same client under "
                 f"`{report.get('syscall_tool')}` (never the run the CPU figures come from); "
                 "connects: nginx's stub_status accepts where the server is nginx, else the "
                 "sum of CURLINFO_NUM_CONNECTS (libcurl clients only).")
    lines.append("")
    lines.append("| target | value | limit | met |")
    lines.append("|---|---:|---:|---|")
    for t in report["targets"]:
        met = "n/a (not run)" if t["met"] is None else ("met" if t["met"] else "**MISSED**")
        lines.append(f"| {t['target']} | {t['value']} | {t.get('op', '')} {t['limit']} | {met} |")
    return "\n".join(lines) + "\n"


def gnuplot(script):
    r = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
    if r.returncode != 0:
        # gnuplot-nox may lack pngcairo: fall back to the gd 'png' terminal
        r = subprocess.run(["gnuplot"], input=script.replace("pngcairo", "png"), text=True,
                           capture_output=True)
    if r.returncode != 0:
        print("gnuplot failed:", r.stderr)


def plot(results, out):
    """results/cpu_per_request.png: CPU per request against transfers in
    flight, a line per client (one engine, the pool on one thread, the
    admission limit, the baselines); results/throughput_per_thread.png:
    requests per second at 64 in flight against io_context threads."""
    if not shutil.which("gnuplot"):
        print("skip: gnuplot not installed (no PNG)")
        return
    plain = lambda w: "_admit" not in w and "_pool" not in w
    series = [
        ("curlasio (one engine)", "curlasio", plain),
        ("curlasio pool, 16 engines, 1 thread", "curlasio", lambda w: "_pool16x1t" in w),
        ("curlasio, admission limit 64", "curlasio", lambda w: "_admit64" in w),
        ("floor", "floor", plain),
        ("curl_multi_same_work", "curl_multi_same_work", plain),
        ("curl_multi", "curl_multi", plain),
        ("beast", "beast", plain),
        ("h2load", "h2load", plain),
    ]
    data = os.path.join(out, "cpu_per_request.dat")
    with open(data, "w") as f:
        for title, client, match in series:
            f.write(f"# {title}\n")
            rows = sorted((r for r in results if r["client"] == client and r["workload"].startswith("h1_")
                           and match(r["workload"])), key=lambda r: r["concurrency"])
            for r in rows:
                f.write(f"{r['concurrency']} {r['cpu_us_per_req']:.3f}\n")
            f.write("\n\n")
    plots = ", ".join(f"'{data}' index {i} with linespoints lw 2 title '{t}'"
                      for i, (t, _, _) in enumerate(series))
    gnuplot(f"""set terminal pngcairo size 1000,560 noenhanced
set output '{os.path.join(out, "cpu_per_request.png")}'
set title 'Client CPU per request, 1 KiB GETs over HTTP/1.1 (nginx, loopback)'
set xlabel 'transfers in flight (outstanding, for the admission limit)'
set ylabel 'client CPU (user+sys) µs per request (log scale)'
set logscale xy
set xtics (1, 64, 1000, 4000)
set ytics (5, 10, 20, 50, 100, 200)
set yrange [4:300]
set xrange [0.8:6000]
set grid
set key outside right top width -8
plot {plots}
""")
    # Throughput against threads, 64 in flight: the pool of 2 engines on 1 and
    # 2 threads; one engine and the plain loop (1 thread each) for reference.
    pool = sorted((r for r in results if r["client"] == "curlasio" and r["workload"].startswith("h1_64_pool2x")),
                  key=lambda r: r["workload"])
    one = find(results, "h1_64", "curlasio")
    loop = find(results, "h1_64", "curl_multi")
    if not pool:
        return
    data = os.path.join(out, "throughput_per_thread.dat")
    with open(data, "w") as f:
        f.write("# curlasio pool, 2 engines\n")
        for r in pool:
            f.write(f"{r['workload'].rsplit('x', 1)[1].rstrip('t')} {r['rps']:.1f}\n")
        f.write("\n\n# curlasio, one engine\n")
        if one:
            f.write(f"1 {one['rps']:.1f}\n")
        f.write("\n\n# curl_multi (plain loop)\n")
        if loop:
            f.write(f"1 {loop['rps']:.1f}\n")
        f.write("\n\n")
    gnuplot(f"""set terminal pngcairo size 700,480 noenhanced
set output '{os.path.join(out, "throughput_per_thread.png")}'
set title 'Requests per second at 64 in flight (nginx on the same 2 cores)'
set xlabel 'io_context threads'
set ylabel 'requests per second'
set xrange [0.5:2.5]
set xtics 1
set yrange [0:*]
set grid
set key bottom right
plot '{data}' index 0 with linespoints lw 2 pt 7 title 'curlasio pool, 2 engines', \
     '{data}' index 1 with points pt 9 ps 2 title 'curlasio, one engine', \
     '{data}' index 2 with points pt 5 ps 2 title 'curl_multi (plain loop)'
""")


if __name__ == "__main__":
    sys.exit(main())
