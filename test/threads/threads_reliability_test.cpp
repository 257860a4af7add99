// The engine destroyed on one thread while others run (or have run) its
// strand: it closes what it can at once and posts the rest, and every handler
// runs once. Built with ThreadSanitizer too (thread_tests).

#include <toolkit/toolkit.hpp>

#include <support/test_server.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using namespace curlasio;
using namespace std::chrono_literals;
using curlasio::test::eventually;
using curlasio::test::open_fd_count;

namespace {

struct counts {
    std::atomic<int> calls{0}, aborted{0}, ok{0};
};

// Fetches counted into atomics: Boost.Test assertions stay on the test thread.
void start_counted(engine& eng, const std::string& url, int n, counts& c) {
    for (int i = 0; i < n; ++i)
        async_fetch(eng, request(url), [&c](error_code ec, response) {
            ++c.calls;
            if (ec == asio::error::operation_aborted)
                ++c.aborted;
            else if (!ec)
                ++c.ok;
        });
}

} // namespace

BOOST_AUTO_TEST_SUITE(threads_reliability)

BOOST_AUTO_TEST_CASE(engine_destroyed_while_other_threads_run_its_strand) {
    curlasio::test::test_server server;
    for (int round = 0; round < 5; ++round) {
        asio::io_context io(2);
        auto work = asio::make_work_guard(io);
        std::vector<std::thread> runners;
        for (int i = 0; i < 2; ++i)
            runners.emplace_back([&] { io.run(); });
        counts done, pending;
        {
            std::optional<engine> eng(std::in_place, engine::executor_type(asio::make_strand(io)));
            start_counted(*eng, server.url("/hello"), 20, done);
            BOOST_TEST_REQUIRE(eventually([&] { return done.calls.load() == 20; }, 60s));
            const std::size_t seen = server.requests_seen();
            start_counted(*eng, server.url("/delay/10000"), 20, pending);
            BOOST_TEST_REQUIRE(eventually([&] { return server.requests_seen() >= seen + 20; }, 60s));
            eng.reset(); // at once or posted, as the strand's threads allow
        }
        BOOST_TEST(eventually([&] { return pending.calls.load() == 20; }, 60s));
        work.reset();
        for (auto& t : runners)
            t.join();
        BOOST_TEST(done.ok.load() == 20);
        BOOST_TEST(pending.calls.load() == 20);
        BOOST_TEST(pending.aborted.load() == 20);
    }
}

BOOST_AUTO_TEST_CASE(engine_run_on_one_thread_destroyed_on_another_closes_at_once) {
    curlasio::test::test_server server;
    asio::io_context io;
    { asio::steady_timer make_reactor(io); }
    std::optional<engine> eng(std::in_place, io);
    std::size_t baseline = 0;
    counts done, pending;
    std::thread runner([&] {
        // Warm libcurl's global state up before the baseline.
        engine warm(io);
        counts w;
        start_counted(warm, server.url("/hello"), 1, w);
        io.run();
        io.restart();
    });
    runner.join();
    BOOST_TEST_REQUIRE(eventually([&] { return server.open_connections() == 0; }));
    baseline = open_fd_count();
    std::thread second([&] {
        start_counted(*eng, server.url("/hello"), 50, done);
        io.run();
        io.restart();
        start_counted(*eng, server.url("/stall"), 10, pending);
        io.run_for(500ms);
        io.restart();
    });
    second.join();
    BOOST_TEST(done.ok.load() == 50);
    BOOST_TEST(curlasio::test::connections_to(server.port()) >= 10u);
    eng.reset(); // this thread never ran the io_context
    // Our ends close at once; the server's as soon as it notices.
    BOOST_TEST(curlasio::test::connections_to(server.port()) == 0u);
    BOOST_TEST(eventually([&] { return open_fd_count() <= baseline; }),
               "fds " << open_fd_count() << " baseline " << baseline);
    BOOST_TEST(pending.calls.load() == 0);
    std::thread third([&] { io.run_for(10s); });
    third.join();
    BOOST_TEST(pending.calls.load() == 10);
    BOOST_TEST(pending.aborted.load() == 10);
}

BOOST_AUTO_TEST_SUITE_END()
