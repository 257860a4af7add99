// async_fetch with request_options::retry against the test server's /flaky
// route: how many attempts, which outcomes are retried, the waits, the
// budget, cancellation between attempts, and the token styles.

#include <toolkit/toolkit.hpp>

#include <support/test_server.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <ctime>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using namespace curlasio;
using namespace std::chrono_literals;
using curlasio::test::fetch_sync;
using curlasio::test::ms_between;
using curlasio::test::probe;
using curlasio::test::probe_handler;
using curlasio::test::run_until;
using curlasio::test::steady;
using curlasio::test::tracking_executor;

namespace {

struct fixture : curlasio::test::engine_fixture {
    // When the server saw each request, on its own thread.
    std::mutex mutex;
    std::vector<steady::time_point> seen;

    fixture() {
        server.on_request([this](const std::string&, const std::string&) {
            std::lock_guard lock(mutex);
            seen.push_back(steady::now());
        });
    }
    std::vector<steady::time_point> arrivals() {
        std::lock_guard lock(mutex);
        return seen;
    }
};

// Quick retries, no jitter: the tests count attempts, not time.
retry_options quick(unsigned attempts) {
    return {.max_attempts = attempts, .initial_backoff = 10ms, .jitter = retry_jitter::none};
}

request retried(std::string url, unsigned attempts, curlasio::method m = verb::get) {
    request req(std::move(url), std::move(m));
    req.options.retry = quick(attempts);
    return req;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(retry, fixture)

BOOST_AUTO_TEST_CASE(succeeds_after_failures) {
    auto out = fetch_sync(io, eng, retried(server.url("/flaky/a/2/503"), 4));
    BOOST_TEST(!out.ec);
    BOOST_TEST(out.res.status == 200);
    BOOST_TEST(out.res.body == "ok after 2");
    BOOST_TEST(out.res.attempts == 3u);
    const std::vector<attempt_outcome> expected{{{}, 503}, {{}, 503}};
    BOOST_TEST((out.res.earlier_attempts == expected));
    BOOST_TEST(server.requests_seen() == 3u);
    expect_fetch_works();
}

BOOST_AUTO_TEST_CASE(without_retry_options_one_attempt) {
    auto out = fetch_sync(io, eng, request(server.url("/flaky/a/2/503")));
    BOOST_TEST(out.res.status == 503);
    BOOST_TEST(out.res.attempts == 1u);
    BOOST_TEST(out.res.earlier_attempts.empty());
    BOOST_TEST(server.requests_seen() == 1u);
}

BOOST_AUTO_TEST_CASE(bound_reached_gives_last_outcome) {
    // A status: the last 503 is the (successful) completion.
    auto out = fetch_sync(io, eng, retried(server.url("/flaky/s/10/503"), 3));
    BOOST_TEST(!out.ec);
    BOOST_TEST(out.res.status == 503);
    BOOST_TEST(out.res.attempts == 3u);
    BOOST_TEST(out.res.earlier_attempts.size() == 2u);
    BOOST_TEST(server.requests_seen() == 3u);

    // A connection reset before the answer, and a close without one: the
    // last attempt's error.
    for (std::string what : {"reset", "close"}) {
        out = fetch_sync(io, eng, retried(server.url("/flaky/" + what + "/10/" + what), 3));
        BOOST_TEST((out.ec == condition::transient), what << ": " << out.ec.message());
        if (what == "close")
            BOOST_TEST(out.ec == make_error_code(CURLE_GOT_NOTHING));
        BOOST_TEST(out.res.attempts == 3u);
        BOOST_TEST_REQUIRE(out.res.earlier_attempts.size() == 2u);
        for (const auto& a : out.res.earlier_attempts) {
            BOOST_TEST(is_retryable(a.ec));
            BOOST_TEST(a.status == 0);
        }
    }
    expect_fetch_works();
}

BOOST_AUTO_TEST_CASE(not_retried_statuses_and_errors) {
    auto out = fetch_sync(io, eng, retried(server.url("/flaky/n/1/500"), 3));
    BOOST_TEST(out.res.status == 500);
    BOOST_TEST(out.res.attempts == 1u);
    out = fetch_sync(io, eng, retried(server.url("/hello"), 3));
    BOOST_TEST(out.res.status == 200);
    BOOST_TEST(out.res.attempts == 1u);
    out = fetch_sync(io, eng, retried("http://no-such-host.invalid/", 3));
    BOOST_TEST((out.ec == condition::dns));
    BOOST_TEST(out.res.attempts == 1u);
}

BOOST_AUTO_TEST_CASE(post_not_retried_by_default) {
    auto out = fetch_sync(io, eng, retried(server.url("/flaky/p/1/503"), 3, verb::post));
    BOOST_TEST(out.res.status == 503);
    BOOST_TEST(out.res.attempts == 1u);
    BOOST_TEST(server.requests_seen() == 1u);

    auto req = retried(server.url("/flaky/q/1/503"), 3, verb::post);
    req.options.retry.retry_non_idempotent = true;
    out = fetch_sync(io, eng, req);
    BOOST_TEST(out.res.status == 200);
    BOOST_TEST(out.res.attempts == 2u);
}

BOOST_AUTO_TEST_CASE(connection_refused_retried_for_every_method) {
    // Nothing was sent: a POST is retried too.
    auto out = fetch_sync(io, eng, retried("http://127.0.0.1:1/", 3, verb::post));
    BOOST_TEST(out.ec == make_error_code(CURLE_COULDNT_CONNECT));
    BOOST_TEST(out.res.attempts == 3u);
    BOOST_TEST_REQUIRE(out.res.earlier_attempts.size() == 2u);
    for (const auto& a : out.res.earlier_attempts)
        BOOST_TEST(a.ec == make_error_code(CURLE_COULDNT_CONNECT));
}

BOOST_AUTO_TEST_CASE(retry_after_seconds_honoured) {
    auto req = retried(server.url("/flaky/r/1/503?retry-after=1"), 3);
    auto out = fetch_sync(io, eng, req);
    BOOST_TEST(out.res.status == 200);
    BOOST_TEST(out.res.attempts == 2u);
    const auto at = arrivals();
    BOOST_TEST_REQUIRE(at.size() == 2u);
    BOOST_TEST(ms_between(at[0], at[1]) >= 1000); // 10 ms without the header
}

BOOST_AUTO_TEST_CASE(too_many_requests_with_http_date) {
    // 429 is retried because it says when: an HTTP-date two seconds ahead
    // (the date has whole seconds: the wait is over one second).
    const std::time_t when = std::time(nullptr) + 2;
    char date[64];
    std::tm tm{};
    gmtime_r(&when, &tm);
    std::strftime(date, sizeof date, "%a,%%20%d%%20%b%%20%Y%%20%H:%M:%S%%20GMT", &tm);
    auto out = fetch_sync(io, eng, retried(server.url("/flaky/t/1/429?retry-after=" + std::string(date)), 3));
    BOOST_TEST(out.res.status == 200);
    BOOST_TEST(out.res.attempts == 2u);
    const auto at = arrivals();
    BOOST_TEST_REQUIRE(at.size() == 2u);
    BOOST_TEST(ms_between(at[0], at[1]) >= 1000);

    // Without Retry-After, a 429 is the answer.
    out = fetch_sync(io, eng, retried(server.url("/flaky/u/1/429"), 3));
    BOOST_TEST(out.res.status == 429);
    BOOST_TEST(out.res.attempts == 1u);
}

BOOST_AUTO_TEST_CASE(budget_stops_it) {
    auto req = retried(server.url("/flaky/b/1000/503"), 1000);
    req.options.retry.initial_backoff = 100ms;
    req.options.retry.multiplier = 1;
    req.options.retry.budget = 550ms;
    const auto start = steady::now();
    auto out = fetch_sync(io, eng, req);
    BOOST_TEST(out.res.status == 503);
    BOOST_TEST(out.res.attempts >= 2u);
    BOOST_TEST(out.res.attempts <= 6u);                   // one per 100 ms wait at most
    BOOST_TEST(ms_between(start, steady::now()) < 10000); // a hang guard, not a measurement

    // The budget also bounds an attempt: the first one times out.
    req = retried(server.url("/delay/5000"), 5);
    req.options.retry.budget = 300ms;
    out = fetch_sync(io, eng, req);
    BOOST_TEST((out.ec == condition::timed_out));
    BOOST_TEST(out.res.attempts == 1u);
}

BOOST_AUTO_TEST_CASE(cancellation_between_attempts) {
    for (auto type : {asio::cancellation_type::terminal, asio::cancellation_type::partial,
                      asio::cancellation_type::total}) {
        auto req = retried(server.url("/flaky/c" + std::to_string(int(type)) + "/5/503"), 5);
        req.options.retry.initial_backoff = 30s;
        int waits = 0;
        req.options.retry.on_retry = [&](const retry_event&) { ++waits; };
        asio::cancellation_signal sig;
        probe p;
        async_fetch(eng, req, asio::bind_cancellation_slot(sig.slot(), probe_handler(p)));
        BOOST_TEST_REQUIRE(run_until(io, [&] { return waits == 1; }));
        const auto emitted = steady::now();
        sig.emit(type);
        BOOST_TEST_REQUIRE(run_until(io, [&] { return p.calls > 0; }));
        BOOST_TEST(ms_between(emitted, p.at) < 5000); // at once, not after the 30 s wait
        BOOST_TEST(p.calls == 1);
        BOOST_TEST(p.ec == asio::error::operation_aborted);
        BOOST_TEST(p.res.status == 503); // the last attempt's response
        BOOST_TEST(p.res.attempts == 1u);
        io.restart();
        io.poll();
        BOOST_TEST(p.calls == 1);
    }
    BOOST_TEST(server.requests_seen() == 3u);
    expect_fetch_works();
}

BOOST_AUTO_TEST_CASE(cancellation_during_an_attempt_stops_the_loop) {
    auto req = retried(server.url("/delay/3000"), 5);
    asio::cancellation_signal sig;
    probe p;
    async_fetch(eng, req, asio::bind_cancellation_slot(sig.slot(), probe_handler(p)));
    BOOST_TEST_REQUIRE(run_until(io, [&] { return server.requests_seen() == 1; }));
    sig.emit(asio::cancellation_type::terminal);
    BOOST_TEST_REQUIRE(run_until(io, [&] { return p.calls > 0; }));
    BOOST_TEST(p.ec == asio::error::operation_aborted);
    BOOST_TEST(p.res.attempts == 1u);
    BOOST_TEST(server.requests_seen() == 1u);
    expect_fetch_works();
}

BOOST_AUTO_TEST_CASE(engine_destroyed_during_the_wait) {
    auto own = std::make_unique<engine>(io);
    auto req = retried(server.url("/flaky/e/5/503"), 5);
    req.options.retry.initial_backoff = 200ms;
    int waits = 0;
    req.options.retry.on_retry = [&](const retry_event&) { ++waits; };
    probe p;
    async_fetch(*own, req, probe_handler(p));
    BOOST_TEST_REQUIRE(run_until(io, [&] { return waits == 1; }));
    own.reset();
    BOOST_TEST_REQUIRE(run_until(io, [&] { return p.calls > 0; }));
    BOOST_TEST(p.calls == 1);
    BOOST_TEST(p.ec == asio::error::operation_aborted);
    BOOST_TEST(p.res.status == 503); // the only attempt's response
    BOOST_TEST(p.res.attempts == 1u);
    BOOST_TEST(server.requests_seen() == 1u);
}

BOOST_AUTO_TEST_CASE(upload_source_not_retried) {
    auto req = retried(server.url("/flaky/up/1/503"), 3, verb::put);
    int reads = 0;
    req.upload = upload_source::from_function(
        io.get_executor(),
        [&](asio::mutable_buffer into, asio::any_completion_handler<void(error_code, std::size_t)> done) {
            const bool first = reads++ == 0;
            if (first)
                *static_cast<char*>(into.data()) = 'x';
            asio::post(io, [d = std::move(done), first]() mutable {
                std::move(d)(first ? error_code{} : error_code(asio::error::eof), first ? 1 : 0);
            });
        },
        1);
    auto out = fetch_sync(io, eng, req);
    BOOST_TEST(out.res.status == 503);
    BOOST_TEST(out.res.attempts == 1u);
}

BOOST_AUTO_TEST_CASE(hooks) {
    // The predicate retries a 500; on_retry sees each wait.
    auto req = retried(server.url("/flaky/h/2/500"), 5);
    std::vector<retry_event> events;
    req.options.retry.should_retry = [](const error_code& ec, const response& r) {
        return !ec && r.status == 500;
    };
    req.options.retry.on_retry = [&](const retry_event& e) { events.push_back(e); };
    auto out = fetch_sync(io, eng, req);
    BOOST_TEST(out.res.status == 200);
    BOOST_TEST(out.res.attempts == 3u);
    BOOST_TEST_REQUIRE(events.size() == 2u);
    BOOST_TEST(events[0].attempt == 1u);
    BOOST_TEST(events[1].attempt == 2u);
    BOOST_TEST(events[1].status == 500);
    BOOST_TEST(events[1].delay.count() == 20); // 10 ms, doubled

    // A hook that throws ends the operation once, with the exception kept.
    req = retried(server.url("/flaky/h2/2/503"), 5);
    req.options.retry.on_retry = [](const retry_event&) { throw std::runtime_error("hook"); };
    out = fetch_sync(io, eng, req);
    BOOST_TEST(out.ec == make_error_code(errc::callback_threw));
    BOOST_TEST(static_cast<bool>(out.res.callback_exception));
    BOOST_TEST(out.res.attempts == 1u);
    expect_fetch_works();
}

BOOST_AUTO_TEST_CASE(callback_runs_through_its_executor_never_inline) {
    tracking_executor tracker{io};
    int calls = 0;
    tracking_executor::initiate([&] {
        async_fetch(eng, retried(server.url("/flaky/x/1/503"), 3),
                    asio::bind_executor(tracker, [&](error_code ec, response r) {
                        BOOST_TEST(!tracking_executor::inside_initiating_call());
                        BOOST_TEST(tracking_executor::running_inside());
                        BOOST_TEST(!ec);
                        BOOST_TEST(r.attempts == 2u);
                        ++calls;
                    }));
    });
    io.run();
    BOOST_TEST(calls == 1);
    BOOST_TEST(tracker.submitted() >= 3); // both attempts' completions and the wait's
}

BOOST_AUTO_TEST_CASE(token_styles) {
    // use_awaitable
    int done = 0;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            response r =
                co_await async_fetch(eng, retried(server.url("/flaky/aw/1/502"), 3), asio::use_awaitable);
            BOOST_TEST(r.status == 200);
            BOOST_TEST(r.attempts == 2u);
            ++done;
        },
        asio::detached);
    BOOST_TEST_REQUIRE(run_until(io, [&] { return done == 1; }));

    // deferred
    auto op = async_fetch(eng, retried(server.url("/flaky/df/1/504"), 3), asio::deferred);
    std::move(op)([&](error_code ec, response r) {
        BOOST_TEST(!ec);
        BOOST_TEST(r.attempts == 2u);
        ++done;
    });
    BOOST_TEST_REQUIRE(run_until(io, [&] { return done == 2; }));

    // use_future, the io_context run by another thread
    std::future<response> f = async_fetch(eng, retried(server.url("/flaky/fu/1/503"), 3), asio::use_future);
    io.restart();
    std::thread runner([&] { io.run(); });
    BOOST_TEST((f.wait_for(30s) == std::future_status::ready));
    runner.join();
    BOOST_TEST(f.get().attempts == 2u);
}

BOOST_AUTO_TEST_SUITE_END()
