// curlasio_bench: one process per client run, so that its CPU time and peak
// RSS are the client's alone.
//
//   curlasio_bench client <curlasio|floor|curl_multi_same_work|curl_multi|curl_easy|beast>
//       --url U [--concurrency N] [--requests M] [--max-seconds S] [--buffer-size B]
//       [--expect-bytes K] [--http2] [--insecure] [--connections C] [--discard-body]
//       [--max-running R]
//     prints one JSON line (with the heap allocations and, for the libcurl
//     clients, the connections opened during the run); exits 1 unless every
//     transfer succeeded.
//
//   curlasio_bench delay-server [--port P] [--delay-ms D] [--body-bytes B]
//       [--max-seconds S]
//     prints "PORT <n>", serves until S seconds have passed.

#include "bench.hpp"

#include <curl/curl.h>

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <string>

namespace bench {

url_parts split_url(const std::string& url) {
    url_parts p;
    std::string rest = url;
    if (auto s = rest.find("://"); s != std::string::npos)
        rest = rest.substr(s + 3);
    auto slash = rest.find('/');
    std::string authority = rest.substr(0, slash);
    p.target = slash == std::string::npos ? "/" : rest.substr(slash);
    auto colon = authority.rfind(':');
    p.host = authority.substr(0, colon);
    p.port = colon == std::string::npos ? "80" : authority.substr(colon + 1);
    return p;
}

} // namespace bench

namespace {

void raise_nofile_limit() {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

long current_rss_kb() {
    std::ifstream f("/proc/self/statm");
    long pages = 0, resident = 0;
    f >> pages >> resident;
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

// Peak RSS of this process image. Not ru_maxrss: Linux carries the RSS of the
// forking parent (the Python driver) across exec into ru_maxrss.
long peak_rss_kb() {
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("VmHWM:", 0) == 0)
            return std::stol(line.substr(6));
    return 0;
}

long long micros(const timeval& tv) { return static_cast<long long>(tv.tv_sec) * 1000000 + tv.tv_usec; }

std::string json_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '"' || c == '\\')
            out += '\\', out += c;
        else if (static_cast<unsigned char>(c) < 0x20)
            out += ' ';
        else
            out += c;
    }
    return out;
}

int usage() {
    std::fprintf(
        stderr,
        "usage: curlasio_bench client "
        "<curlasio|floor|curl_multi_same_work|curl_multi|curl_easy|beast> --url U "
        "[--concurrency N] [--requests M] [--max-seconds S] [--buffer-size B] "
        "[--expect-bytes K] [--http2] [--insecure] [--connections C] [--discard-body] [--max-running R] "
        "[--engines E] [--threads T]\n"
        "       curlasio_bench delay-server [--port P] [--delay-ms D] "
        "[--body-bytes B] [--max-seconds S]\n");
    return 2;
}

int run_client(int argc, char** argv) {
    if (argc < 3)
        return usage();
    const std::string kind = argv[2];
    bench::client_options o;
    for (int i = 3; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "%s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--url")
            o.url = value();
        else if (a == "--concurrency")
            o.concurrency = std::stol(value());
        else if (a == "--requests")
            o.requests = std::stol(value());
        else if (a == "--max-seconds")
            o.max_seconds = std::stod(value());
        else if (a == "--buffer-size")
            o.buffer_size = std::stol(value());
        else if (a == "--expect-bytes")
            o.expect_bytes = std::stol(value());
        else if (a == "--connections")
            o.connections = std::stol(value());
        else if (a == "--max-running")
            o.max_running = std::stol(value());
        else if (a == "--engines")
            o.engines = std::stol(value());
        else if (a == "--threads")
            o.threads = std::stol(value());
        else if (a == "--http2")
            o.http2 = true;
        else if (a == "--insecure")
            o.insecure = true;
        else if (a == "--discard-body")
            o.discard_body = true;
        else
            return usage();
    }
    if (o.url.empty() || o.concurrency < 1 || o.requests < 1)
        return usage();
    if (o.connections <= 0)
        o.connections = o.concurrency;

    raise_nofile_limit();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const long rss_before = current_rss_kb();

    rusage ru0{}, ru1{};
    const bench::alloc_counts a0 = bench::allocations_so_far();
    getrusage(RUSAGE_SELF, &ru0);
    auto t0 = std::chrono::steady_clock::now();
    bench::client_result r;
    try {
        if (kind == "curlasio")
            r = bench::run_curlasio(o);
        else if (kind == "floor")
            r = bench::run_floor(o);
        else if (kind == "curl_multi_same_work")
            r = bench::run_curl_multi_same_work(o);
        else if (kind == "curl_multi")
            r = bench::run_curl_multi(o);
        else if (kind == "curl_easy")
            r = bench::run_curl_easy(o);
        else if (kind == "beast")
            r = bench::run_beast(o);
        else
            return usage();
    } catch (const std::exception& e) {
        r.first_error = std::string("exception: ") + e.what();
    }
    auto t1 = std::chrono::steady_clock::now();
    getrusage(RUSAGE_SELF, &ru1);
    const bench::alloc_counts a1 = bench::allocations_so_far();

    const long long user = micros(ru1.ru_utime) - micros(ru0.ru_utime);
    const long long sys = micros(ru1.ru_stime) - micros(ru0.ru_stime);
    std::printf("{\"client\":\"%s\",\"concurrency\":%ld,\"requested\":%ld,\"requests\":%ld,"
                "\"ok\":%ld,\"seconds\":%.6f,\"user_us\":%lld,\"sys_us\":%lld,"
                "\"max_rss_kb\":%ld,\"rss_before_kb\":%ld,\"mallocs\":%llu,\"frees\":%llu,"
                "\"connects\":%ld,\"error\":\"%s\"}\n",
                kind.c_str(), o.concurrency, o.requests, r.completed, r.ok,
                std::chrono::duration<double>(t1 - t0).count(), user, sys, peak_rss_kb(), rss_before,
                a1.allocs - a0.allocs, a1.frees - a0.frees, r.connects, json_escape(r.first_error).c_str());
    std::fflush(stdout);
    curl_global_cleanup();
    return (r.completed > 0 && r.ok == r.completed && r.first_error.empty()) ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2)
        return usage();
    const std::string cmd = argv[1];
    if (cmd == "client")
        return run_client(argc, argv);
    if (cmd == "delay-server") {
        raise_nofile_limit();
        return bench::run_delay_server(argc, argv);
    }
    return usage();
}
