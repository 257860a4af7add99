// The client under test: one engine on a single-threaded io_context; each of
// N loops starts its next fetch from the previous one's completion handler.

#include "bench.hpp"

#include <curlasio/curlasio.hpp>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <string>

namespace bench {
namespace {

struct runner {
    const client_options& o;
    curlasio::engine& eng;
    const curlasio::request& req;
    client_result& result;
    std::chrono::steady_clock::time_point start;
    long started = 0;

    void next() {
        if (started >= o.requests || out_of_time(start, o.max_seconds))
            return;
        ++started;
        curlasio::async_fetch(eng, req, [this](curlasio::error_code ec, curlasio::response r) {
            const long size = static_cast<long>(o.discard_body ? r.bytes_received : r.body.size());
            bool ok = !ec && r.status == 200 && (o.expect_bytes < 0 || size == o.expect_bytes);
            std::string why;
            if (!ok)
                why = ec ? ec.message() + " " + r.error_message
                         : "status " + std::to_string(r.status) + ", " + std::to_string(size) + " bytes";
            record(result, ok, why);
            next();
        });
    }
};

} // namespace

client_result run_curlasio(const client_options& o) {
    boost::asio::io_context io(1);
    curlasio::engine_options eo;
    eo.max_host_connections = o.connections;
    eo.max_idle_connections = o.connections;
    eo.multiplex = true;
    eo.max_concurrent_streams = 100;
    // --max-running: the admission limit (0: none, the default).
    eo.max_running_transfers = static_cast<std::size_t>(o.max_running);
    curlasio::engine eng(io, eo);

    // The same options as the plain libcurl loop (client_curl.cpp).
    curlasio::request req(o.url);
    req.options.decompress = false;
    req.options.user_agent.clear();
    req.options.version = o.http2 ? curlasio::http_version::http2_tls : curlasio::http_version::http1_1;
    if (o.insecure) {
        req.options.tls.verify_peer = false;
        req.options.tls.verify_host = false;
    }
    if (o.buffer_size > 0)
        req.options.connection.buffer_size = static_cast<std::size_t>(o.buffer_size);
    req.options.connection.wait_for_multiplex = o.http2;
    // --discard-body: a big download measures I/O, not std::string growth.
    if (o.discard_body)
        req.on_body = [](std::string_view) {};

    client_result result;
    runner r{o, eng, req, result, std::chrono::steady_clock::now()};
    for (long i = 0; i < o.concurrency; ++i)
        r.next();
    io.run();
    return result;
}

} // namespace bench
