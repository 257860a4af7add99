// Per-operation cancellation of async_fetch: every cancellation type, at every
// stage of a transfer, through a bound slot, a timer that emits the signal (a
// hand-made asio::cancel_after), the server's request hook, libcurl's progress
// callback and coroutines racing a timer.
//
// No assertion measures a duration: a stage is reached by an event (the
// server read the request, the first body bytes arrived), and "promptly" is
// an order: the fetch completed while its response was still pending. Time
// limits only guard against hangs.

#include <toolkit/toolkit.hpp>

#include <support/test_server.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <ostream>
#include <string>
#include <utility>

namespace asio = boost::asio;
namespace data = boost::unit_test::data;
using namespace curlasio;
using namespace std::chrono_literals;

namespace {

using steady = std::chrono::steady_clock;
using curlasio::test::connections_to;
using curlasio::test::never_answered;
using curlasio::test::probe;
using curlasio::test::probe_handler;
using curlasio::test::run_until;
using curlasio::test::tracking_executor;

// What asio::cancel_after (Boost 1.86) does, by hand: a timer that emits
// `type` on the operation's slot unless the operation completes first.
template <typename Handler>
void fetch_cancel_after(engine& eng, request req, steady::duration after, asio::cancellation_type type,
                        Handler handler) {
    struct state {
        explicit state(const engine::executor_type& ex) : timer(ex) {}
        asio::steady_timer timer;
        asio::cancellation_signal signal;
    };
    auto s = std::make_shared<state>(eng.get_executor());
    s->timer.expires_after(after);
    s->timer.async_wait([s, type](error_code ec) {
        if (!ec)
            s->signal.emit(type);
    });
    async_fetch(eng, std::move(req),
                asio::bind_cancellation_slot(s->signal.slot(),
                                             [s, h = std::move(handler)](error_code ec, response r) mutable {
                                                 s->timer.cancel();
                                                 std::move(h)(ec, std::move(r));
                                             }));
}

struct named_type {
    asio::cancellation_type type;
    const char* name;
};

std::ostream& operator<<(std::ostream& os, const named_type& t) { return os << t.name; }

const named_type cancel_types[] = {
    {asio::cancellation_type::terminal, "terminal"},
    {asio::cancellation_type::partial, "partial"},
    {asio::cancellation_type::total, "total"},
};
// The types honoured once libcurl has run the transfer: total ("no apparent
// side effects") is then ignored (reliability_test.cpp shows it).
const named_type any_stage_types[] = {
    {asio::cancellation_type::terminal, "terminal"},
    {asio::cancellation_type::partial, "partial"},
};

struct fixture : curlasio::test::engine_fixture {

    // When the server read a request, and whether the cancellation that
    // instant triggered has been emitted (both read on the io thread).
    struct server_read {
        bool fired = false; // server thread only
        steady::time_point at{};
        bool emitted = false;
    };

    // Emits `type` on `signal`, on io's thread, once the server has read the
    // request for `target`: the cancellation then comes strictly after the
    // request reached the server, with no timer racing the connection. The
    // hook only records the instant and posts; io.post is thread-safe.
    std::shared_ptr<server_read> emit_when_server_reads(std::string target, asio::cancellation_signal& signal,
                                                        asio::cancellation_type type) {
        auto read = std::make_shared<server_read>();
        server.on_request([this, target, read, &signal, type](const std::string&, const std::string& t) {
            if (t != target || std::exchange(read->fired, true))
                return;
            read->at = steady::now();
            asio::post(io, [read, &signal, type] {
                read->emitted = true;
                signal.emit(type);
            });
        });
        return read;
    }

    // Gives any stray second completion or late cancellation a chance to run.
    void settle() {
        io.restart();
        io.run_for(50ms);
    }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(cancel, fixture)

BOOST_DATA_TEST_CASE_F(fixture, before_the_engine_started_it, data::make(cancel_types), c) {
    probe p;
    asio::cancellation_signal signal;
    async_fetch(eng, request(server.url(never_answered)),
                asio::bind_cancellation_slot(signal.slot(), probe_handler(p)));
    BOOST_TEST(p.calls == 0); // never inside the initiating call
    signal.emit(c.type);
    signal.emit(c.type); // a repeated emission must not complete it twice
    // Completing at all means completing before the response, an hour away.
    BOOST_TEST_REQUIRE(run_until(
        io, [&] { return p.calls > 0; }, 10s));
    settle();
    BOOST_TEST(p.calls == 1);
    BOOST_TEST(p.ec == asio::error::operation_aborted);
    BOOST_TEST(p.res.status == 0);
    BOOST_TEST(connections_to(server.port()) == 0u);
    expect_fetch_works();
}

BOOST_DATA_TEST_CASE_F(fixture, while_queued_in_libcurl, data::make(any_stage_types), c) {
    engine_options options;
    options.max_total_connections = 1;
    engine limited(io, options);

    probe first, second;
    async_fetch(limited, request(server.url("/delay/3000")), probe_handler(first));
    // Only once the first owns the single connection is the second surely queued.
    BOOST_TEST_REQUIRE(run_until(
        io, [&] { return server.requests_seen() == 1; }, 10s));
    fetch_cancel_after(limited, request(server.url("/hello")), 100ms, c.type, probe_handler(second));
    BOOST_TEST_REQUIRE(run_until(
        io, [&] { return second.calls > 0; }, 10s));
    BOOST_TEST(second.ec == asio::error::operation_aborted);
    // The order, not a duration: it completed while the first (and so the
    // connection it queued for) was still busy, 3 s against a 100 ms timer.
    // Had the cancellation waited for the connection to come free, the first
    // would have completed before it.
    BOOST_TEST(first.calls == 0);

    // The first is undisturbed; and the cancelled one never went out, even
    // once the connection became free: it is gone from libcurl.
    BOOST_TEST_REQUIRE(run_until(
        io, [&] { return first.calls > 0; }, 10s));
    settle();
    BOOST_TEST(first.calls == 1);
    BOOST_TEST(second.calls == 1);
    BOOST_TEST(!first.ec);
    BOOST_TEST(first.res.status == 200);
    BOOST_TEST(first.res.body == "delayed");
    BOOST_TEST(server.requests_seen() == 1u);
    BOOST_TEST(server.connections_accepted() == 1u);
    expect_fetch_works(limited);
    BOOST_TEST(server.requests_seen() == 2u);
}

BOOST_DATA_TEST_CASE_F(fixture, while_waiting_for_headers, data::make(any_stage_types), c) {
    // The server holds the connection for all of it (the case waits for
    // that), and the cancellation comes within milliseconds of the read.
    constexpr auto delay = 2s;
    probe p;
    asio::cancellation_signal signal;
    // Cancelled once the server has read the request: it really is waiting
    // for the response then, however long the connection took.
    const auto read = emit_when_server_reads("/delay/2000", signal, c.type);
    async_fetch(eng, request(server.url("/delay/2000")),
                asio::bind_cancellation_slot(signal.slot(), probe_handler(p)));
    BOOST_TEST_REQUIRE(run_until(
        io, [&] { return p.calls > 0; }, 10s));
    settle();
    BOOST_TEST_REQUIRE(read->emitted);
    BOOST_TEST(p.calls == 1);
    BOOST_TEST(p.ec == asio::error::operation_aborted);
    BOOST_TEST(server.requests_seen() == 1u);
    BOOST_TEST(p.res.status == 0);
    // It completed while the delayed response was still pending: the server
    // cannot send it before `delay` after reading the request (a steady
    // timer never fires early). An order against the server's own event, with
    // the whole delay as the margin.
    BOOST_TEST((p.at < read->at + delay), "completed " << curlasio::test::ms_between(read->at, p.at)
                                                       << " ms after the server read the request");
    // Removed from libcurl: its connection is closed at once. The server only
    // notices when its delay ends and it writes into the dead connection;
    // the limit only guards against a hang.
    BOOST_TEST(connections_to(server.port()) == 0u);
    BOOST_TEST(curlasio::test::eventually([&] { return server.open_connections() == 0; }, 20s));
    server.on_request({});
    expect_fetch_works();
}

BOOST_DATA_TEST_CASE_F(fixture, in_the_middle_of_the_body, data::make(any_stage_types), c) {
    // 100 000 chunks of 1 KiB, one every 30 ms: the body would take 50 min,
    // so a completion during the test came before its end.
    constexpr std::uint64_t chunks = 100000;
    probe p;
    asio::cancellation_signal signal;
    std::uint64_t downloaded_at_cancel = 0;
    request req(server.url("/slow-body/" + std::to_string(chunks) + "/30"));
    // Cancelled once the first chunk has arrived, not after a guessed time:
    // the transfer is then in the middle of its body for certain. The
    // emission happens inside libcurl's callback: allowed, since the
    // cancellation only posts.
    req.on_progress = [&](const transfer_progress& progress) {
        if (downloaded_at_cancel == 0 && progress.downloaded >= 1024) {
            downloaded_at_cancel = progress.downloaded;
            signal.emit(c.type);
        }
    };
    async_fetch(eng, std::move(req), asio::bind_cancellation_slot(signal.slot(), probe_handler(p)));
    BOOST_TEST_REQUIRE(run_until(
        io, [&] { return p.calls > 0; }, 10s));
    settle();
    BOOST_TEST_REQUIRE(downloaded_at_cancel > 0u);
    BOOST_TEST_MESSAGE("cancelled at " << downloaded_at_cancel << " bytes, delivered " << p.res.body.size());
    BOOST_TEST(p.calls == 1);
    BOOST_TEST(p.ec == asio::error::operation_aborted);
    // What arrived before the cancellation is delivered with the error: all
    // that progress had reported by then, and not the whole body.
    BOOST_TEST(p.res.status == 200);
    BOOST_TEST(p.res.body.size() >= downloaded_at_cancel);
    BOOST_TEST(p.res.body.size() < chunks * 1024u);
    BOOST_TEST(p.res.body.find_first_not_of('x') == std::string::npos);
    BOOST_TEST(connections_to(server.port()) == 0u);
    // The server saw the connection closed, long before its body's end: it
    // writes every 30 ms, so it notices at once; the limit only guards
    // against a hang.
    BOOST_TEST(curlasio::test::eventually([&] { return server.open_connections() == 0; }, 20s));
    expect_fetch_works();
}

BOOST_DATA_TEST_CASE_F(fixture, after_the_completion_was_posted, data::make(cancel_types), c) {
    asio::io_context handler_io; // not running: the completion waits there
    tracking_executor posted(handler_io);
    probe p;
    asio::cancellation_signal signal;
    async_fetch(eng, request(server.url("/hello")),
                asio::bind_cancellation_slot(signal.slot(), asio::bind_executor(posted, probe_handler(p))));
    BOOST_TEST_REQUIRE(run_until(
        io, [&] { return posted.submitted() > 0; }, 10s));
    BOOST_TEST(posted.submitted() == 1);
    BOOST_TEST(p.calls == 0);

    signal.emit(c.type);
    io.restart();
    io.poll(); // the engine sees the late cancellation and must ignore it
    BOOST_TEST(p.calls == 0);

    handler_io.run_for(5s);
    BOOST_TEST(handler_io.stopped()); // ran out of work by itself
    BOOST_TEST(p.calls == 1);
    BOOST_TEST(!p.ec);
    BOOST_TEST(p.res.status == 200);
    BOOST_TEST(p.res.body == "hello world");
    expect_fetch_works();
}

BOOST_AUTO_TEST_CASE(emitting_none_does_nothing) {
    probe direct, timed;
    asio::cancellation_signal signal;
    async_fetch(eng, request(server.url("/delay/300")),
                asio::bind_cancellation_slot(signal.slot(), probe_handler(direct)));
    signal.emit(asio::cancellation_type::none);
    fetch_cancel_after(eng, request(server.url("/delay/300")), 100ms, asio::cancellation_type::none,
                       probe_handler(timed));
    BOOST_TEST_REQUIRE(run_until(
        io, [&] { return direct.calls > 0 && timed.calls > 0; }, 10s));
    settle();
    for (probe* p : {&direct, &timed}) {
        BOOST_TEST(p->calls == 1);
        BOOST_TEST(!p->ec);
        BOOST_TEST(p->res.status == 200);
        BOOST_TEST(p->res.body == "delayed");
    }
}

// The fetch runs in its own coroutine so that its result is observable even
// though `||` discards the loser's.
BOOST_AUTO_TEST_CASE(awaitable_race_against_a_timer_as_tuple) {
    using namespace asio::experimental::awaitable_operators;
    error_code fetch_ec;
    int fetch_calls = 0;
    std::size_t winner = 99;
    bool finished = false;

    auto fetch_side = [&]() -> asio::awaitable<void> {
        auto [ec, r] = co_await async_fetch(eng, request(server.url(never_answered)),
                                            asio::as_tuple(asio::use_awaitable));
        fetch_ec = ec;
        ++fetch_calls;
    };
    auto timer_side = [&]() -> asio::awaitable<void> {
        asio::steady_timer t(io, 100ms);
        co_await t.async_wait(asio::use_awaitable);
    };
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            auto result = co_await (fetch_side() || timer_side());
            winner = result.index();
            finished = true;
        },
        [](std::exception_ptr e) {
            if (e)
                std::rethrow_exception(e);
        });
    // `||` waits for the loser: finishing at all means the cancelled fetch
    // completed before its response, an hour away.
    BOOST_TEST_REQUIRE(run_until(
        io, [&] { return finished; }, 10s));
    BOOST_TEST(winner == 1u);
    BOOST_TEST(fetch_calls == 1);
    BOOST_TEST(fetch_ec == asio::error::operation_aborted);
    BOOST_TEST(connections_to(server.port()) == 0u);
    expect_fetch_works();
}

BOOST_AUTO_TEST_CASE(awaitable_race_against_a_timer_throws) {
    using namespace asio::experimental::awaitable_operators;
    error_code fetch_ec;
    int fetch_returned = 0, fetch_threw = 0;
    bool finished = false;

    auto fetch_side = [&]() -> asio::awaitable<void> {
        try {
            co_await async_fetch(eng, request(server.url(never_answered)), asio::use_awaitable);
            ++fetch_returned;
        } catch (const boost::system::system_error& e) {
            fetch_ec = e.code();
            ++fetch_threw;
        }
    };
    auto timer_side = [&]() -> asio::awaitable<void> {
        asio::steady_timer t(io, 100ms);
        co_await t.async_wait(asio::use_awaitable);
    };
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            co_await (fetch_side() || timer_side());
            finished = true;
        },
        [](std::exception_ptr e) {
            if (e)
                std::rethrow_exception(e);
        });
    // `||` waits for the loser: finishing at all means the cancelled fetch
    // completed before its response, an hour away.
    BOOST_TEST_REQUIRE(run_until(
        io, [&] { return finished; }, 10s));
    BOOST_TEST(fetch_returned == 0);
    BOOST_TEST(fetch_threw == 1);
    BOOST_TEST(fetch_ec == asio::error::operation_aborted);
    BOOST_TEST(connections_to(server.port()) == 0u);
    expect_fetch_works();
}

BOOST_AUTO_TEST_SUITE_END()
