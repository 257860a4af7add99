// Step-indexed faults, in the manner of Beast's test::fail_count: a fetch is
// cancelled (terminal), or its engine destroyed, at the step-th turn of
// io.run_one(), for step = 1, 2, 3, ... until the fetch completes before the
// step is reached. Every step checks recovery: the handler ran once, with
// operation_aborted or a complete response, its operation state was freed
// through its allocator before it ran, no connection or descriptor is left
// over, and an engine serves a fresh fetch.
//
// Turns of run_one are the finest event every stage of a transfer has
// (connect, send, each readiness of the body, completion), with no clock.

#include <toolkit/toolkit.hpp>

#include <support/test_server.hpp>

#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/error.hpp>
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <ostream>
#include <string>
#include <utility>

namespace asio = boost::asio;
namespace data = boost::unit_test::data;
using namespace curlasio;
using namespace std::chrono_literals;
using curlasio::test::connections_to;
using curlasio::test::counting_allocator;
using curlasio::test::eventually;
using curlasio::test::open_fd_count;
using curlasio::test::pattern;
using curlasio::test::probe;
using curlasio::test::probe_handler;
using curlasio::test::run_until;

namespace {

// Far above the turns any case takes (a few hundred): only a fetch that
// never completes reaches it.
constexpr int max_steps = 2000;

struct fetch_case {
    const char* name;
    const char* path;
    const char* method;
    std::size_t upload;   // pattern bytes sent as the body
    std::size_t expected; // pattern bytes in the response body
};

std::ostream& operator<<(std::ostream& os, const fetch_case& c) { return os << c.name; }

const fetch_case cases[] = {
    {"get_1mib", "/bytes/1048576", "GET", 0, 1048576},
    {"get_chunked_256kib", "/chunked/262144", "GET", 0, 262144},
    {"post_echo_1mib", "/echo", "POST", 1048576, 1048576},
};

request make_request(const curlasio::test::test_server& server, const fetch_case& c) {
    request req(server.url(c.path), curlasio::method(c.method));
    req.body = pattern(c.upload);
    return req;
}

// Records, as the handler runs, whether its operation state was already
// freed; then completes the probe.
auto observed(probe& p, const counting_allocator<void>& alloc, bool& freed_before) {
    return asio::bind_allocator(
        alloc, [&freed_before, alloc, h = probe_handler(p)](error_code ec, response r) mutable {
            freed_before = alloc.live() == 0;
            h(ec, std::move(r));
        });
}

// Runs at most `steps` turns of io, fewer if the probe completes first.
// Returns whether all were run with the probe still pending.
bool run_turns(asio::io_context& io, const probe& p, int steps) {
    io.restart();
    for (int turn = 0; turn < steps; ++turn) {
        if (p.calls > 0)
            return false;
        if (io.run_one_for(10s) == 0)
            BOOST_FAIL("io ran out of work (or 10 s passed) with a fetch pending");
    }
    return p.calls == 0;
}

void check_outcome(const probe& p, const fetch_case& c, bool freed_before) {
    BOOST_TEST(p.calls == 1);
    BOOST_TEST(freed_before);
    if (p.ec) {
        BOOST_TEST(p.ec == asio::error::operation_aborted, p.ec.message());
    } else {
        BOOST_TEST(p.res.status == 200);
        BOOST_TEST(p.res.body.size() == c.expected);
        BOOST_TEST((p.res.body == pattern(c.expected)));
    }
}

} // namespace

BOOST_AUTO_TEST_SUITE(fault_loop)

BOOST_DATA_TEST_CASE_F(curlasio::test::engine_fixture, cancel_at_every_step, data::make(cases), c) {
    int step = 1;
    for (; step <= max_steps; ++step) {
        BOOST_TEST_CONTEXT("step " << step) {
            // The connection the previous step's fresh fetch left cached, if any.
            const std::size_t connections_before = connections_to(server.port());
            probe p;
            counting_allocator<void> alloc;
            bool freed_before = false;
            asio::cancellation_signal signal;
            async_fetch(eng, make_request(server, c),
                        asio::bind_cancellation_slot(signal.slot(), observed(p, alloc, freed_before)));
            const bool reached = run_turns(io, p, step);
            if (reached) {
                signal.emit(asio::cancellation_type::terminal);
                BOOST_TEST_REQUIRE(run_until(io, [&] { return p.calls > 0; }));
            }
            check_outcome(p, c, freed_before);
            BOOST_TEST(alloc.live() == 0);
            BOOST_TEST_MESSAGE("step " << step << (p.ec ? " aborted" : " complete") << ", "
                                       << connections_to(server.port()) << " connections, "
                                       << connections_before << " before");
            io.restart();
            io.run_for(50ms); // whatever the engine posted to finish the removal
            // No connection accumulates over the steps. Not "none beyond the
            // cached one": a fetch cancelled at step 1 (libcurl 7.88, this
            // engine) leaves a second connection in libcurl's cache, closed
            // only with the engine (engine_destroyed_at_every_step sees 0).
            BOOST_TEST(connections_to(server.port()) <= 2u);
            const std::size_t accepted = server.connections_accepted();
            expect_fetch_works();
            if (!p.ec) // a completed fetch's connection is reused
                BOOST_TEST(server.connections_accepted() == accepted);
            if (!reached)
                break;
        }
    }
    BOOST_TEST_MESSAGE(c.name << ": completed at step " << step);
    BOOST_TEST(step <= max_steps); // the loop ended by a completion
    BOOST_TEST(step > 1);          // and there was something to cancel
}

BOOST_DATA_TEST_CASE_F(curlasio::test::server_fixture, engine_destroyed_at_every_step, data::make(cases), c) {
    // What outlives an engine (the io_context's reactor descriptors, made by
    // the first engine and kept): the count to return to once ours is gone.
    { engine warm_up(io); }
    io.run_for(1s);
    const std::size_t baseline = open_fd_count();

    int step = 1;
    for (; step <= max_steps; ++step) {
        BOOST_TEST_CONTEXT("step " << step) {
            std::optional<engine> eng{std::in_place, io};
            probe p;
            counting_allocator<void> alloc;
            bool freed_before = false;
            async_fetch(*eng, make_request(server, c), observed(p, alloc, freed_before));
            const bool reached = run_turns(io, p, step);
            eng.reset();
            io.restart();
            io.run_for(5s); // returns once the shutdown has no work left
            BOOST_TEST(io.stopped());
            check_outcome(p, c, freed_before);
            BOOST_TEST(alloc.live() == 0);
            // Without the engine, not even a cached connection is left.
            BOOST_TEST(connections_to(server.port()) == 0u);
            BOOST_TEST(eventually([&] { return open_fd_count() == baseline; }),
                       "fds " << open_fd_count() << " vs baseline " << baseline);
            {
                engine fresh(io);
                expect_fetch_works(fresh);
            }
            io.restart();
            io.run_for(5s); // its shutdown too, before the next step counts turns
            if (!reached)
                break;
        }
    }
    BOOST_TEST_MESSAGE(c.name << ": completed at step " << step);
    BOOST_TEST(step <= max_steps);
    BOOST_TEST(step > 1);
}

BOOST_AUTO_TEST_SUITE_END()
