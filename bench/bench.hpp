#ifndef CURLASIO_BENCH_BENCH_HPP
#define CURLASIO_BENCH_BENCH_HPP

// Shared by the benchmark's clients: what to run and what came out.

#include <chrono>
#include <cstddef>
#include <string>

namespace bench {

struct client_options {
    std::string url;
    long concurrency = 1;      // transfers in flight
    long requests = 1;         // transfers in total (fewer if max_seconds hits)
    double max_seconds = 60;   // no new transfer is started after this
    long buffer_size = 0;      // CURLOPT_BUFFERSIZE; 0: libcurl's default
    long expect_bytes = -1;    // body size every response must have; -1: any
    bool http2 = false;        // HTTP/2 over TLS (ALPN), else HTTP/1.1
    bool insecure = false;     // no certificate verification (self-signed test cert)
    long connections = 0;      // max connections to the host; 0: = concurrency
    bool discard_body = false; // count body bytes instead of keeping them
    long max_running = 0;      // curlasio: engine_options::max_running_transfers; 0: none
    long engines = 1;          // curlasio: more than 1 (or threads > 1): an engine_pool
    long threads = 1;          // curlasio: io_context threads the pool's engines are spread over
};

struct client_result {
    long completed = 0;      // transfers that finished (either way)
    long ok = 0;             // finished with status 200 and the expected size
    std::string first_error; // what went wrong first, if anything
    long connects = -1;      // connections opened (CURLINFO_NUM_CONNECTS summed); -1: not counted
};

// Records one transfer's outcome.
inline void record(client_result& r, bool ok, const std::string& why) {
    ++r.completed;
    if (ok)
        ++r.ok;
    else if (r.first_error.empty())
        r.first_error = why;
}

// Splits "http://host:port/path" (no user info, no IPv6 literal).
struct url_parts {
    std::string host, port, target;
};
url_parts split_url(const std::string& url);

inline bool out_of_time(std::chrono::steady_clock::time_point start, double max_seconds) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > max_seconds;
}

client_result run_curlasio(const client_options& o);
client_result run_curl_multi(const client_options& o);
client_result run_curl_easy(const client_options& o);
client_result run_floor(const client_options& o);
client_result run_curl_multi_same_work(const client_options& o);
client_result run_beast(const client_options& o);
int run_delay_server(int argc, char** argv);

// alloc_count.cpp: this binary's malloc family counts its calls.
struct alloc_counts {
    unsigned long long allocs = 0; // malloc, calloc, realloc, the aligned ones (operator new included)
    unsigned long long frees = 0;  // free of a non-null pointer
};
alloc_counts allocations_so_far() noexcept;

} // namespace bench

#endif
