// Engine lifetime: cancel(), destruction and move-assignment with transfers in
// flight, and the io_context going away under the engine.

#include <toolkit/toolkit.hpp>

#include <support/test_server.hpp>

#include <boost/asio/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace asio = boost::asio;
using namespace curlasio;
using namespace std::chrono_literals;
using curlasio::test::eventually;
using curlasio::test::never_answered;
using curlasio::test::open_fd_count;

namespace {

using steady = std::chrono::steady_clock;
using curlasio::test::connections_to;
using curlasio::test::ms_between;
using curlasio::test::probe;
using curlasio::test::probe_handler;
using curlasio::test::run_until;

// For the cases where Asio's rule is that handlers are destroyed uncalled:
// counts calls and the copies still alive.
struct handler_counts {
    int live = 0;
    int calls = 0;
};

class counted_handler {
public:
    explicit counted_handler(handler_counts& c) noexcept : c_(&c) { ++c_->live; }
    counted_handler(const counted_handler& other) noexcept : c_(other.c_) { ++c_->live; }
    counted_handler(counted_handler&& other) noexcept : c_(other.c_) { ++c_->live; }
    counted_handler& operator=(const counted_handler&) = delete;
    ~counted_handler() { --c_->live; }

    void operator()(error_code, response) { ++c_->calls; }

private:
    handler_counts* c_;
};

bool all_aborted_once(const std::vector<probe>& probes) {
    for (const probe& p : probes)
        if (p.calls != 1 || p.ec != asio::error::operation_aborted)
            return false;
    return true;
}

struct fixture : curlasio::test::server_fixture {
    // Starts n fetches of `path` and runs until the server has read them all:
    // every one is then truly in flight.
    void start_in_flight(engine& e, std::vector<probe>& probes, const std::string& path) {
        const std::size_t before = server.requests_seen();
        for (probe& p : probes)
            async_fetch(e, request(server.url(path)), probe_handler(p));
        BOOST_TEST_REQUIRE(run_until(
            io, [&] { return server.requests_seen() >= before + probes.size(); }, 30s));
        for (const probe& p : probes)
            BOOST_TEST_REQUIRE(p.calls == 0);
    }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(lifetime, fixture)

BOOST_AUTO_TEST_CASE(cancel_aborts_every_transfer_and_engine_stays_usable) {
    engine eng(io);
    std::vector<probe> probes(50);
    // Never answered: however long the 50 take to reach the server, none
    // completes by itself, and completing at all means being aborted before
    // the response (where "within 1000 ms" of a 5 s delay only approximated it).
    start_in_flight(eng, probes, std::string(never_answered));
    BOOST_TEST(connections_to(server.port()) == 50u);

    eng.cancel();
    BOOST_TEST_REQUIRE(run_until(
        io,
        [&] {
            for (const probe& p : probes)
                if (p.calls == 0)
                    return false;
            return true;
        },
        10s));
    io.restart();
    io.run_for(50ms); // room for a stray second completion
    BOOST_TEST(all_aborted_once(probes));
    BOOST_TEST(connections_to(server.port()) == 0u);
    expect_fetch_works(eng);
}

BOOST_AUTO_TEST_CASE(cancel_with_nothing_running_is_harmless) {
    engine eng(io);
    eng.cancel();
    eng.cancel();
    expect_fetch_works(eng);
}

BOOST_AUTO_TEST_CASE(destroying_engine_with_1000_in_flight) {
    // The baseline includes everything that outlives an engine: the io_context's
    // reactor descriptors and libcurl's global state.
    { asio::steady_timer make_reactor(io); }
    {
        engine warm_up(io);
        expect_fetch_works(warm_up);
    }
    io.restart();
    io.run_for(1s);
    BOOST_TEST_REQUIRE(eventually([&] { return server.open_connections() == 0; }));
    const std::size_t baseline = open_fd_count();

    // /stall keeps reading, so the server closes its ends as soon as ours go.
    std::vector<probe> probes(1000);
    std::optional<engine> eng(std::in_place, io);
    start_in_flight(*eng, probes, "/stall");
    BOOST_TEST(open_fd_count() >= baseline + 2000); // both ends of each connection

    eng.reset();
    for (const probe& p : probes)
        BOOST_TEST_REQUIRE(p.calls == 0); // never inside the destructor
    const auto t0 = steady::now();
    io.restart();
    io.run_for(20s);
    // /stall never ends by itself: run() running out of work, with every
    // handler aborted once, is the order that shows the destruction ended
    // them all. The limit only guards against a hang; the time is reported.
    BOOST_TEST(io.stopped()); // run() returned because no work was left
    BOOST_TEST_MESSAGE("the destroyed engine's 1000 handlers ran in " << ms_between(t0, steady::now())
                                                                      << " ms");
    BOOST_TEST(all_aborted_once(probes));
    BOOST_TEST(connections_to(server.port()) == 0u);
    BOOST_TEST(eventually([&] { return open_fd_count() <= baseline; }, 10s),
               "fds: " << open_fd_count() << " baseline: " << baseline);
}

BOOST_AUTO_TEST_CASE(engine_destroyed_before_its_io_context_ever_ran) {
    std::vector<probe> probes(10);
    {
        engine eng(io);
        for (probe& p : probes)
            async_fetch(eng, request(server.url(never_answered)), probe_handler(p));
    }
    for (const probe& p : probes)
        BOOST_TEST_REQUIRE(p.calls == 0);
    io.run_for(10s);
    // run() ran out of work before the limit, so before any response: every
    // transfer was ended by the destruction.
    BOOST_TEST(io.stopped());
    BOOST_TEST(all_aborted_once(probes));
    BOOST_TEST(connections_to(server.port()) == 0u);
}

// The documented order: the engine goes first (its shutdown is posted), then
// the io_context is destroyed without running again. Asio destroys pending
// handlers uncalled; every copy must be freed (ASan checks the rest).
BOOST_AUTO_TEST_CASE(engine_then_io_context_destroyed_with_transfers_in_flight) {
    handler_counts counts;
    {
        asio::io_context ctx;
        {
            engine eng(ctx);
            // Never answered, so none completes while the 20 reach the server.
            for (int i = 0; i < 20; ++i)
                async_fetch(eng, request(server.url(never_answered)), counted_handler(counts));
            BOOST_TEST_REQUIRE(run_until(
                ctx, [&] { return server.requests_seen() == 20; }, 10s));
            BOOST_TEST(counts.live == 20);
        }
        BOOST_TEST(counts.calls == 0);
    }
    BOOST_TEST(counts.calls == 0);
    BOOST_TEST(counts.live == 0);
    BOOST_TEST(connections_to(server.port()) == 0u);
}

// The reverse order: the io_context dies under a live engine, which is then
// destroyed. Nothing may crash or leak, and no handler may run.
BOOST_AUTO_TEST_CASE(io_context_then_engine_destroyed_with_transfers_in_flight) {
    handler_counts counts;
    {
        std::optional<asio::io_context> ctx(std::in_place);
        std::optional<engine> eng(std::in_place, *ctx);
        for (int i = 0; i < 20; ++i)
            async_fetch(*eng, request(server.url(never_answered)), counted_handler(counts));
        BOOST_TEST_REQUIRE(run_until(
            *ctx, [&] { return server.requests_seen() == 20; }, 10s));
        BOOST_TEST(counts.live == 20);

        ctx.reset();
        BOOST_TEST(counts.calls == 0);
        eng.reset();
    }
    BOOST_TEST(counts.calls == 0);
    BOOST_TEST(counts.live == 0);
    BOOST_TEST(connections_to(server.port()) == 0u);
}

BOOST_AUTO_TEST_CASE(move_assignment_aborts_the_old_engines_transfers) {
    engine eng(io);
    std::vector<probe> probes(5);
    start_in_flight(eng, probes, std::string(never_answered));

    eng = engine(io);
    // Completing at all means being aborted before the response.
    BOOST_TEST_REQUIRE(run_until(
        io,
        [&] {
            for (const probe& p : probes)
                if (p.calls == 0)
                    return false;
            return true;
        },
        10s));
    io.restart();
    io.run_for(50ms);
    BOOST_TEST(all_aborted_once(probes));
    BOOST_TEST(connections_to(server.port()) == 0u);
    expect_fetch_works(eng);

    // Move construction hands the transfers over; the moved-from shell dies quietly.
    probe moved;
    async_fetch(eng, request(server.url("/delay/100")), probe_handler(moved));
    engine taken(std::move(eng));
    BOOST_TEST_REQUIRE(run_until(
        io, [&] { return moved.calls > 0; }, 10s));
    BOOST_TEST(!moved.ec);
    BOOST_TEST(moved.res.body == "delayed");
    expect_fetch_works(taken);
}

BOOST_AUTO_TEST_SUITE_END()
