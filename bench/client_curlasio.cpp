// The client under test: one engine on a single-threaded io_context, or
// (--engines E, --threads T) an engine_pool of E engines spread over T
// io_context threads; each of N loops starts its next fetch from the
// previous one's completion handler.

#include "bench.hpp"

#include <curlasio/curlasio.hpp>
#include <curlasio/engine_pool.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace bench {
namespace {

// Target: a curlasio::engine or a curlasio::engine_pool. With several
// threads the loops' shared counters are taken under `lock`.
template <typename Target>
struct runner {
    const client_options& o;
    Target& target;
    const curlasio::request& req;
    client_result& result;
    std::chrono::steady_clock::time_point start;
    std::mutex* lock = nullptr; // null on one thread
    // Called once when every loop has ended (the pool's threads then stop).
    std::function<void()> all_done = {};
    long started = 0;
    long finished = 0;

    std::optional<std::unique_lock<std::mutex>> guard() {
        if (!lock)
            return std::nullopt;
        return std::unique_lock<std::mutex>(*lock);
    }

    bool claim() {
        auto g = guard();
        if (started >= o.requests || out_of_time(start, o.max_seconds))
            return false;
        ++started;
        return true;
    }

    void next() {
        if (!claim())
            return;
        curlasio::async_fetch(target, req, [this](curlasio::error_code ec, curlasio::response r) {
            const long size = static_cast<long>(o.discard_body ? r.bytes_received : r.body.size());
            bool ok = !ec && r.status == 200 && (o.expect_bytes < 0 || size == o.expect_bytes);
            std::string why;
            if (!ok)
                why = ec ? ec.message() + " " + r.error_message
                         : "status " + std::to_string(r.status) + ", " + std::to_string(size) + " bytes";
            {
                auto g = guard();
                record(result, ok, why);
                ++finished;
            }
            next();
            auto g = guard();
            if (finished == started && all_done)
                std::exchange(all_done, nullptr)();
        });
    }
};

template <typename Target>
void start_loops(runner<Target>& r, long concurrency) {
    for (long i = 0; i < concurrency; ++i)
        r.next();
}

} // namespace

client_result run_curlasio(const client_options& o) {
    curlasio::engine_options eo;
    eo.max_host_connections = o.connections;
    eo.max_idle_connections = o.connections;
    eo.multiplex = true;
    eo.max_concurrent_streams = 100;
    // --max-running: the admission limit (0: none, the default).
    eo.max_running_transfers = static_cast<std::size_t>(o.max_running);

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
    if (o.engines <= 1 && o.threads <= 1) {
        boost::asio::io_context io(1);
        curlasio::engine eng(io, eo);
        runner<curlasio::engine> r{o, eng, req, result, std::chrono::steady_clock::now()};
        start_loops(r, o.concurrency);
        io.run();
        return result;
    }

    // The pool: engine i on io_context i % threads, each run by a thread of its own.
    const long threads = std::max(1L, o.threads);
    const long engines = std::max(o.engines, threads);
    std::vector<std::unique_ptr<boost::asio::io_context>> ios;
    for (long i = 0; i < threads; ++i)
        ios.push_back(std::make_unique<boost::asio::io_context>(1));
    std::vector<curlasio::engine_pool::executor_type> executors;
    for (long i = 0; i < engines; ++i)
        executors.push_back(ios[static_cast<std::size_t>(i % threads)]->get_executor());
    curlasio::engine_pool pool(executors, eo);
    // Each thread runs until every loop has ended, even while its engines
    // have nothing to do.
    std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work;
    for (auto& io : ios)
        work.emplace_back(io->get_executor());
    std::mutex lock;
    runner<curlasio::engine_pool> r{
        o, pool, req, result, std::chrono::steady_clock::now(), threads > 1 ? &lock : nullptr, [&work] {
            work.clear();
        }};
    start_loops(r, o.concurrency);
    std::vector<std::thread> running;
    for (auto& io : ios)
        running.emplace_back([&io] { io->run(); });
    for (auto& t : running)
        t.join();
    return result;
}

} // namespace bench
