// Baselines with libcurl alone:
//  - curl_multi: curl_multi_perform + curl_multi_poll, a fresh easy handle per
//    transfer with the options curlasio's easy handle sets for the same request.
//  - curl_easy: curl_easy_perform, one transfer after another (big download).

#include "bench.hpp"

#include <curl/curl.h>

#include <chrono>
#include <memory>
#include <string>

namespace bench {
namespace {

struct transfer {
    CURL* handle = nullptr;
    std::string body;
    long received = 0;
    bool discard = false;
    long header_lines = 0;
    char error[CURL_ERROR_SIZE] = {};
};

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* p) {
    auto* t = static_cast<transfer*>(p);
    t->received += static_cast<long>(size * n);
    if (!t->discard)
        t->body.append(data, size * n);
    return size * n;
}

std::size_t on_header(char*, std::size_t size, std::size_t n, void* p) {
    ++static_cast<transfer*>(p)->header_lines;
    return size * n;
}

// Mirrors detail::easy_handle::prepare for a GET with the bench's request.
std::unique_ptr<transfer> make_transfer(const client_options& o) {
    auto t = std::make_unique<transfer>();
    CURL* h = curl_easy_init();
    t->handle = h;
    t->discard = o.discard_body;
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, t->error);
    curl_easy_setopt(h, CURLOPT_URL, o.url.c_str());
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 0L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 30000L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, o.insecure ? 0L : 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, o.insecure ? 0L : 2L);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION,
                     o.http2 ? long(CURL_HTTP_VERSION_2TLS) : long(CURL_HTTP_VERSION_1_1));
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, t.get());
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, t.get());
    curl_easy_setopt(h, CURLOPT_PRIVATE, t.get());
    if (o.buffer_size > 0)
        curl_easy_setopt(h, CURLOPT_BUFFERSIZE, o.buffer_size);
    if (o.http2)
        curl_easy_setopt(h, CURLOPT_PIPEWAIT, 1L);
    return t;
}

void check(const client_options& o, transfer& t, CURLcode rc, client_result& result) {
    long status = 0;
    curl_easy_getinfo(t.handle, CURLINFO_RESPONSE_CODE, &status);
    bool ok = rc == CURLE_OK && status == 200 && (o.expect_bytes < 0 || t.received == o.expect_bytes);
    std::string why;
    if (!ok)
        why = rc != CURLE_OK
                  ? std::string(curl_easy_strerror(rc)) + " " + t.error
                  : "status " + std::to_string(status) + ", " + std::to_string(t.received) + " bytes";
    record(result, ok, why);
}

} // namespace

client_result run_curl_multi(const client_options& o) {
    CURLM* m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, o.connections);
    curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, o.connections);
    curl_multi_setopt(m, CURLMOPT_PIPELINING, long(CURLPIPE_MULTIPLEX));
    curl_multi_setopt(m, CURLMOPT_MAX_CONCURRENT_STREAMS, 100L);

    client_result result;
    const auto start = std::chrono::steady_clock::now();
    long started = 0;
    auto add_one = [&] {
        if (started >= o.requests || out_of_time(start, o.max_seconds))
            return;
        ++started;
        curl_multi_add_handle(m, make_transfer(o).release()->handle);
    };
    for (long i = 0; i < o.concurrency; ++i)
        add_one();

    int running = 0;
    while (result.completed < started) {
        if (curl_multi_perform(m, &running) != CURLM_OK)
            break;
        int left = 0;
        while (CURLMsg* msg = curl_multi_info_read(m, &left)) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            transfer* raw = nullptr;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &raw);
            std::unique_ptr<transfer> t(raw);
            CURLcode rc = msg->data.result;
            curl_multi_remove_handle(m, t->handle);
            check(o, *t, rc, result);
            curl_easy_cleanup(t->handle);
            add_one();
        }
        if (result.completed < started)
            curl_multi_poll(m, nullptr, 0, 1000, nullptr);
    }
    curl_multi_cleanup(m);
    return result;
}

client_result run_curl_easy(const client_options& o) {
    client_result result;
    const auto start = std::chrono::steady_clock::now();
    for (long i = 0; i < o.requests && !out_of_time(start, o.max_seconds); ++i) {
        auto t = make_transfer(o);
        CURLcode rc = curl_easy_perform(t->handle);
        check(o, *t, rc, result);
        curl_easy_cleanup(t->handle);
    }
    return result;
}

} // namespace bench
