#ifndef CURLASIO_TEST_TOOLKIT_RUN_HPP
#define CURLASIO_TEST_TOOLKIT_RUN_HPP

// Driving an io_context from a test: to a condition, to one fetch's end, or
// polling state another thread changes. Every wait is bounded: a limit only
// guards against a hang, no assertion measures it.

#include <curlasio/curlasio.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <thread>
#include <utility>

namespace curlasio::test {

namespace asio = boost::asio;
using steady = std::chrono::steady_clock;

struct outcome {
    error_code ec;
    response res;
    int calls = 0;
};

/// Runs one fetch to completion on `io` (which must not be running
/// elsewhere) and checks that the handler ran exactly once.
inline outcome fetch_sync(asio::io_context& io, engine& eng, request req) {
    outcome out;
    async_fetch(eng, std::move(req), [&](error_code ec, response r) {
        out.ec = ec;
        out.res = std::move(r);
        ++out.calls;
    });
    io.restart();
    io.run_for(std::chrono::seconds(60));
    BOOST_TEST_REQUIRE(out.calls == 1);
    return out;
}

/// Runs `io` until `pred` holds, it runs out of work, or `limit` passes: the
/// per-test guard against hangs.
template <typename Pred>
bool run_until(asio::io_context& io, Pred pred, steady::duration limit = std::chrono::seconds(20)) {
    const auto deadline = steady::now() + limit;
    io.restart();
    while (!pred()) {
        if (io.run_one_until(deadline) == 0 && (io.stopped() || steady::now() >= deadline))
            return pred();
    }
    return true;
}

/// Polls `pred` for up to `limit` (the server's thread closes its ends of
/// connections asynchronously).
template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    auto deadline = steady::now() + limit;
    while (!pred()) {
        if (steady::now() > deadline)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
}

} // namespace curlasio::test

#endif
