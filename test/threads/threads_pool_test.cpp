// An engine pool of four engines, each on an io_context of its own run by one
// thread, driven from four other threads: placement counters, completions and
// cancellation race each other. Also built with ThreadSanitizer.
//
// Boost.Test assertions are not thread-safe: the other threads only count
// into atomics; the test thread asserts.

#include <toolkit/io_threads.hpp>
#include <toolkit/submitters.hpp>
#include <toolkit/toolkit.hpp>

#include <support/test_server.hpp>

#include <curlasio/engine_pool.hpp>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/strand.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
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

#if defined(__SANITIZE_THREAD__)
constexpr bool under_tsan = true;
#else
constexpr bool under_tsan = false;
#endif
constexpr auto long_wait = under_tsan ? std::chrono::milliseconds(600s) : 120s;

struct fixture {
    static constexpr int engines = 4;
    curlasio::test::test_server server;
    std::vector<std::unique_ptr<asio::io_context>> ios;
    std::vector<std::unique_ptr<io_threads>> runners;
    std::optional<engine_pool> pool;

    fixture() {
        std::vector<engine_pool::executor_type> executors;
        for (int i = 0; i < engines; ++i) {
            ios.push_back(std::make_unique<asio::io_context>(1));
            executors.emplace_back(ios.back()->get_executor());
        }
        pool.emplace(executors);
        for (auto& io : ios)
            runners.push_back(std::make_unique<io_threads>(*io, 1));
    }
    ~fixture() { shut_down(); }

    // Declared after a test's locals, so that no handler still running on
    // an io thread outlives what it refers to.
    struct shut_down_at_exit {
        fixture& f;
        ~shut_down_at_exit() { f.shut_down(); }
    };

    // Destroys the pool (aborting what is left) and drains the threads.
    void shut_down() {
        pool.reset();
        for (auto& r : runners)
            BOOST_TEST(r->stop());
        runners.clear();
    }

    bool on_a_pool_thread() const {
        for (auto& io : ios)
            if (io->get_executor().running_in_this_thread())
                return true;
        return false;
    }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(threads_pool, fixture)

BOOST_AUTO_TEST_CASE(fetches_from_four_threads_over_four_engines) {
    constexpr int submitters = 4;
    constexpr int per_submitter = under_tsan ? 150 : 500;
    constexpr int total = submitters * per_submitter;
    constexpr int max_in_flight = 8;
    std::vector<std::atomic<int>> calls(total);
    std::atomic<int> done{0}, failed{0}, wrong_executor{0};
    curlasio::test::submitters<max_in_flight> threads(submitters);
    using strand_type = asio::strand<asio::io_context::executor_type>;
    std::vector<strand_type> own;
    for (int k = 0; k < submitters; ++k)
        own.push_back(asio::make_strand(*ios[k]));
    const shut_down_at_exit guard{*this};
    const int stuck = threads.run(
        per_submitter, std::chrono::steady_clock::now() + long_wait, [&](int k, int i, auto& slot) {
            // Even submitters bind a strand of their own; odd ones
            // nothing, so theirs run on the executor of the engine
            // that ran the fetch.
            const bool bound = k % 2 == 0;
            const int idx = k * per_submitter + i;
            auto on_done = [&, idx, bound, k, done_with = &slot](error_code ec, response r) {
                if (bound ? !own[k].running_in_this_thread() : !on_a_pool_thread())
                    ++wrong_executor;
                ++calls[idx];
                failed += ec || r.body != "hello world";
                ++done;
                done_with->release();
            };
            request req(server.url("/hello"));
            if (bound)
                async_fetch(*pool, std::move(req), asio::bind_executor(own[k], std::move(on_done)));
            else
                async_fetch(*pool, std::move(req), std::move(on_done));
        });
    BOOST_TEST(stuck == 0);
    BOOST_TEST(done.load() == total);
    BOOST_TEST(failed.load() == 0);
    BOOST_TEST(wrong_executor.load() == 0);
    int not_once = 0;
    for (auto& c : calls)
        not_once += c.load() != 1;
    BOOST_TEST(not_once == 0);
    for (std::size_t i = 0; i < pool->size(); ++i)
        BOOST_TEST(pool->in_flight(i) == 0u);
    // At most each engine's peak load in connections; the placement keeps
    // the engines within a quarter of each other, well under twice the load.
    BOOST_TEST_MESSAGE(server.connections_accepted() << " connections for " << total << " fetches");
    BOOST_TEST(server.connections_accepted() <= std::size_t(2 * submitters * max_in_flight));
}

BOOST_AUTO_TEST_CASE(cancel_and_destroy_while_threads_submit) {
    constexpr int submitters = 4, per_submitter = 10, total = submitters * per_submitter;
    std::vector<std::atomic<int>> calls(total);
    std::atomic<int> done{0}, not_aborted{0};
    const shut_down_at_exit guard{*this};
    std::vector<std::thread> threads;
    for (int k = 0; k < submitters; ++k)
        threads.emplace_back([&, k] {
            for (int i = 0; i < per_submitter; ++i) {
                const int idx = k * per_submitter + i;
                async_fetch(*pool, request(server.url(curlasio::test::never_answered)),
                            [&, idx](error_code ec, response) {
                                ++calls[idx];
                                not_aborted += ec != asio::error::operation_aborted;
                                ++done;
                            });
                if (k == 0 && i == per_submitter / 2)
                    pool->cancel(); // races the others' submissions
            }
        });
    for (auto& t : threads)
        t.join();
    // Some are in libcurl, some still posted: destroying aborts them all.
    pool.reset();
    BOOST_TEST_REQUIRE(eventually([&] { return done.load() == total; },
                                  std::chrono::duration_cast<std::chrono::milliseconds>(long_wait)));
    BOOST_TEST(not_aborted.load() == 0);
    int not_once = 0;
    for (auto& c : calls)
        not_once += c.load() != 1;
    BOOST_TEST(not_once == 0);
}

BOOST_AUTO_TEST_SUITE_END()
