// One engine on a strand of an io_context run by four threads, driven from
// other threads: submission, completion, per-operation cancellation and
// engine.cancel() all race each other. Also built with ThreadSanitizer.
//
// Boost.Test assertions are not thread-safe: the io and submitting threads
// only count into atomics; the test thread asserts.

#include <toolkit/io_threads.hpp>
#include <toolkit/submitters.hpp>
#include <toolkit/toolkit.hpp>

#include <support/test_server.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using namespace curlasio;
using namespace std::chrono_literals;
using curlasio::test::eventually;
using curlasio::test::io_threads;

namespace {

using steady = std::chrono::steady_clock;
using strand_type = asio::strand<asio::io_context::executor_type>;

#if defined(__SANITIZE_THREAD__)
constexpr bool under_tsan = true;
#else
constexpr bool under_tsan = false;
#endif

// Deadlines that hold under TSan's slowdown too; only a hang reaches them.
constexpr auto long_wait = under_tsan ? std::chrono::milliseconds(600s) : 120s;

bool body_is_pattern(const std::string& body) {
    for (std::size_t i = 0; i < body.size(); ++i)
        if (body[i] != static_cast<char>('a' + i % 26))
            return false;
    return true;
}

struct fixture {
    curlasio::test::test_server server;
    asio::io_context io{4};
    strand_type engine_strand = asio::make_strand(io);
    std::optional<engine> eng{std::in_place, engine::executor_type(engine_strand)};
    io_threads runners{io, 4};

    ~fixture() { shut_down(); }

    // Destroys the engine (its shutdown runs on the still-running threads and
    // completes whatever is left) and drains the threads. Afterwards no
    // handler can run any more.
    void shut_down() {
        eng.reset();
        BOOST_TEST(runners.stop());
    }

    // Declared after a test's locals, so that on every exit (a failed
    // requirement included) no handler outlives what it refers to.
    struct shut_down_at_exit {
        fixture& f;
        ~shut_down_at_exit() { f.shut_down(); }
    };

    // Waits on a future from another thread: the engine must still serve.
    void expect_fetch_works() {
        auto f = async_fetch(*eng, request(server.url("/hello")), asio::use_future);
        BOOST_TEST_REQUIRE((f.wait_for(30s) == std::future_status::ready));
        response r = f.get();
        BOOST_TEST(r.status == 200);
        BOOST_TEST(r.body == "hello world");
    }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(threads, fixture)

BOOST_AUTO_TEST_CASE(ten_thousand_fetches_from_four_threads) {
    constexpr int submitters = 4;
    // 10 000 in all; TSan runs about ten times slower (see the report for timings).
    constexpr int per_submitter = 2500; // also under TSan: about 20 s there
    constexpr int total = submitters * per_submitter;
    constexpr int max_in_flight = 32;

    std::vector<std::atomic<int>> calls(total);
    std::atomic<int> done{0}, failed{0}, wrong_body{0}, wrong_executor{0};
    curlasio::test::submitters<max_in_flight> threads(submitters); // outlives the handlers
    std::vector<strand_type> own_strands;
    for (int k = 0; k < submitters; ++k)
        own_strands.push_back(asio::make_strand(io));
    const shut_down_at_exit guard{*this};

    const auto t0 = steady::now();
    const int stuck = threads.run(per_submitter, steady::now() + long_wait, [&](int k, int i, auto& slot) {
        // Even submitters bind their handlers to a strand of their own; odd
        // ones bind nothing, so theirs run on the engine's strand.
        const bool bound = k % 2 == 0;
        const strand_type* expected = bound ? &own_strands[k] : &engine_strand;
        const int idx = k * per_submitter + i;
        const std::size_t size = 1 + static_cast<std::size_t>(idx % 2000);
        auto on_done = [&, idx, size, expected, done_with = &slot](error_code ec, response r) {
            if (!expected->running_in_this_thread())
                ++wrong_executor;
            ++calls[idx];
            if (ec || r.status != 200)
                ++failed;
            else if (r.body.size() != size || !body_is_pattern(r.body))
                ++wrong_body;
            ++done;
            done_with->release(); // last: the submitter may be waiting to finish
        };
        request req(server.url("/bytes/" + std::to_string(size)));
        if (bound)
            async_fetch(*eng, std::move(req), asio::bind_executor(*expected, std::move(on_done)));
        else
            async_fetch(*eng, std::move(req), std::move(on_done));
    });
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - t0);
    BOOST_TEST_MESSAGE(total << " fetches from " << submitters << " threads took " << took.count() << " ms");

    BOOST_TEST(stuck == 0);
    BOOST_TEST(done.load() == total);
    BOOST_TEST(failed.load() == 0);
    BOOST_TEST(wrong_body.load() == 0);
    BOOST_TEST(wrong_executor.load() == 0);
    int not_once = 0;
    for (auto& c : calls)
        if (c.load() != 1)
            ++not_once;
    BOOST_TEST(not_once == 0);
    expect_fetch_works();
}

BOOST_AUTO_TEST_CASE(cancellation_from_the_handlers_strand_races_completion) {
    constexpr int n = 400;
    constexpr asio::cancellation_type types[] = {
        asio::cancellation_type::terminal, asio::cancellation_type::partial, asio::cancellation_type::total};

    // A signal and its slot are not thread-safe: each fetch's signal is
    // connected, emitted and (by the completion) cleared on that fetch's strand.
    struct op {
        explicit op(asio::io_context& io) : strand(asio::make_strand(io)), timer(strand) {}
        strand_type strand;
        asio::steady_timer timer;
        asio::cancellation_signal signal;
    };
    std::vector<std::unique_ptr<op>> ops;
    for (int i = 0; i < n; ++i)
        ops.push_back(std::make_unique<op>(io));

    std::vector<std::atomic<int>> calls(n);
    std::atomic<int> done{0}, aborted{0}, bad{0}, uncancelled_aborted{0}, wrong_executor{0};
    std::atomic<int> timers_done{0};
    int timed = 0;
    for (int i = 0; i < n; ++i)
        timed += i % 4 == 3;
    const shut_down_at_exit guard{*this};

    for (int i = 0; i < n; ++i) {
        asio::post(ops[i]->strand, [&, i] {
            op& o = *ops[i];
            // Mix of already-finished, in-flight and not-yet-started transfers.
            const std::string path = i % 3 == 0 ? "/hello" : "/delay/" + std::to_string(i % 40);
            async_fetch(*eng, request(server.url(path)),
                        asio::bind_cancellation_slot(
                            o.signal.slot(), asio::bind_executor(o.strand, [&, i](error_code ec, response r) {
                                if (!ops[i]->strand.running_in_this_thread())
                                    ++wrong_executor;
                                ++calls[i];
                                if (ec == asio::error::operation_aborted) {
                                    ++aborted;
                                    if (i % 2 == 0)
                                        ++uncancelled_aborted;
                                } else if (ec || r.status != 200) {
                                    ++bad;
                                }
                                ++done;
                            })));
            if (i % 2 == 0)
                return;
            const asio::cancellation_type type = types[(i / 2) % 3];
            if (i % 4 == 1) {
                o.signal.emit(type); // before the engine has even seen it
                return;
            }
            // Spread over the time the batch takes, so some cancellations
            // come after the completion and some race it.
            o.timer.expires_after(std::chrono::milliseconds((i * 7) % 300));
            o.timer.async_wait([&o, &timers_done, type](error_code ec) {
                if (!ec)
                    o.signal.emit(type);
                ++timers_done;
            });
        });
    }
    BOOST_TEST_REQUIRE(eventually([&] { return done.load() == n; }, long_wait));
    // Every emission has happened (not "300 ms have passed"); then the engine
    // and the threads are drained, so whatever completion a late emission
    // could still cause has run before the counts are read.
    BOOST_TEST_REQUIRE(eventually([&] { return timers_done.load() == timed; }, long_wait));
    expect_fetch_works();
    shut_down();

    int not_once = 0;
    for (auto& c : calls)
        if (c.load() != 1)
            ++not_once;
    BOOST_TEST(not_once == 0);
    BOOST_TEST(bad.load() == 0);
    BOOST_TEST(uncancelled_aborted.load() == 0);
    BOOST_TEST(wrong_executor.load() == 0);
    // Those emitted before the engine saw them are aborted for certain.
    BOOST_TEST(aborted.load() >= n / 4);
    BOOST_TEST_MESSAGE(aborted.load()
                       << " of " << n << " aborted, " << n / 2 - aborted.load() << " cancelled too late");
}

BOOST_AUTO_TEST_CASE(engine_cancel_from_another_thread_aborts_in_flight) {
    constexpr int n = 100;
    std::vector<std::atomic<int>> calls(n);
    std::atomic<int> done{0}, aborted{0};
    const shut_down_at_exit guard{*this};
    // Never answered: however long the 100 take to reach the server, none
    // completes by itself, and each completion is one cancel() caused before
    // its response (where "within 1000 ms" of a 5 s delay only approximated it).
    for (int i = 0; i < n; ++i)
        async_fetch(*eng, request(server.url(curlasio::test::never_answered)),
                    [&, i](error_code ec, response) {
                        ++calls[i];
                        if (ec == asio::error::operation_aborted)
                            ++aborted;
                        ++done;
                    });
    BOOST_TEST_REQUIRE(eventually([&] { return server.requests_seen() == n; }, long_wait));
    BOOST_TEST(done.load() == 0);

    const auto t0 = steady::now();
    std::thread([&] { eng->cancel(); }).join();
    BOOST_TEST_REQUIRE(eventually([&] { return done.load() == n; }, long_wait));
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - t0);
    BOOST_TEST_MESSAGE("cancel() completed " << n << " fetches in " << took.count() << " ms");
    BOOST_TEST(aborted.load() == n);
    // Drained, instead of 100 ms of sleep: a second completion would have run.
    expect_fetch_works();
    shut_down();
    int not_once = 0;
    for (auto& c : calls)
        if (c.load() != 1)
            ++not_once;
    BOOST_TEST(not_once == 0);
}

BOOST_AUTO_TEST_CASE(engine_cancel_storm_while_submitting) {
    constexpr int submitters = 2;
    constexpr int per_submitter = 1000;
    constexpr int total = submitters * per_submitter;

    std::vector<std::atomic<int>> calls(total);
    std::atomic<int> done{0}, aborted{0}, bad{0};
    const shut_down_at_exit guard{*this};

    // Cancels during the first half of the submissions only, so that both
    // outcomes occur.
    std::atomic<int> submitted{0};
    std::thread canceller([&] {
        while (submitted.load() < total / 2) {
            eng->cancel();
            std::this_thread::sleep_for(2ms);
        }
    });
    std::vector<std::thread> threads;
    for (int k = 0; k < submitters; ++k)
        threads.emplace_back([&, k] {
            for (int i = 0; i < per_submitter; ++i) {
                const int idx = k * per_submitter + i;
                const std::string path = idx % 2 ? "/hello" : "/delay/" + std::to_string(idx % 20);
                async_fetch(*eng, request(server.url(path)), [&, idx](error_code ec, response r) {
                    ++calls[idx];
                    if (ec == asio::error::operation_aborted)
                        ++aborted;
                    else if (ec || r.status != 200)
                        ++bad;
                    ++done;
                });
                ++submitted;
                if (i % 5 == 4)
                    std::this_thread::sleep_for(1ms); // spread over a few hundred ms
            }
        });
    for (auto& t : threads)
        t.join();
    canceller.join();

    BOOST_TEST_REQUIRE(eventually([&] { return done.load() == total; }, long_wait));
    // Drained, instead of 100 ms of sleep: a second completion would have run.
    expect_fetch_works();
    shut_down();
    int not_once = 0;
    for (auto& c : calls)
        if (c.load() != 1)
            ++not_once;
    BOOST_TEST(not_once == 0);
    BOOST_TEST(bad.load() == 0);
    BOOST_TEST(aborted.load() > 0);
    BOOST_TEST(aborted.load() < total); // the second half was never cancelled
    BOOST_TEST_MESSAGE(aborted.load() << " of " << total << " aborted by engine.cancel()");
}

BOOST_AUTO_TEST_SUITE_END()
