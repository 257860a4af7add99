// One behaviour, every completion token style; where handlers run; which
// allocator the operation uses.

#include <toolkit/toolkit.hpp>

#include <support/test_server.hpp>

#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <future>
#include <memory>
#include <thread>

namespace asio = boost::asio;
using namespace curlasio;
using curlasio::test::counting_allocator;
using curlasio::test::tracking_executor;

namespace {

using fixture = curlasio::test::engine_fixture;

void check_hello(const error_code& ec, const response& r) {
    BOOST_TEST(!ec);
    BOOST_TEST(r.status == 200);
    BOOST_TEST(r.body == "hello world");
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(tokens, fixture)

BOOST_AUTO_TEST_CASE(callback) {
    int calls = 0;
    bool initiating = true;
    async_fetch(eng, request(server.url("/hello")), [&](error_code ec, response r) {
        BOOST_TEST(!initiating); // never inside the initiating call
        check_hello(ec, r);
        ++calls;
    });
    initiating = false;
    io.run();
    BOOST_TEST(calls == 1);
}

BOOST_AUTO_TEST_CASE(use_future) {
    std::future<response> f = async_fetch(eng, request(server.url("/hello")), asio::use_future);
    std::thread runner([&] { io.run(); });
    BOOST_TEST((f.wait_for(std::chrono::seconds(30)) == std::future_status::ready));
    runner.join();
    check_hello({}, f.get());

    std::future<response> failed = async_fetch(eng, request("http://127.0.0.1:1/"), asio::use_future);
    io.restart();
    io.run();
    try {
        failed.get();
        BOOST_FAIL("expected an exception");
    } catch (const boost::system::system_error& e) {
        BOOST_TEST(e.code() == make_error_code(CURLE_COULDNT_CONNECT));
    }
}

BOOST_AUTO_TEST_CASE(use_awaitable) {
    int done = 0;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            auto r = co_await async_fetch(eng, request(server.url("/hello")), asio::use_awaitable);
            check_hello({}, r);
            // A failure is thrown as system_error.
            try {
                co_await async_fetch(eng, request("http://127.0.0.1:1/"), asio::use_awaitable);
                BOOST_FAIL("expected an exception");
            } catch (const boost::system::system_error& e) {
                BOOST_TEST(e.code() == make_error_code(CURLE_COULDNT_CONNECT));
            }
            // The default token is deferred, which an awaitable can co_await.
            auto d = co_await async_fetch(eng, request(server.url("/hello")));
            check_hello({}, d);
            ++done;
        },
        asio::detached);
    io.run();
    BOOST_TEST(done == 1);
}

BOOST_AUTO_TEST_CASE(deferred) {
    auto op = async_fetch(eng, request(server.url("/hello")), asio::deferred);
    BOOST_TEST(server.requests_seen() == 0u); // nothing happens until it is launched
    int calls = 0;
    auto then = std::move(op)(
        asio::deferred([](error_code ec, response r) { return asio::deferred.values(ec, r.status); }));
    std::move(then)([&](error_code ec, int status) {
        BOOST_TEST(!ec);
        BOOST_TEST(status == 200);
        ++calls;
    });
    io.run();
    BOOST_TEST(calls == 1);
    BOOST_TEST(server.requests_seen() == 1u);
}

BOOST_AUTO_TEST_CASE(yield_context) {
    int done = 0;
    asio::spawn(
        io,
        [&](asio::yield_context yield) {
            auto r = async_fetch(eng, request(server.url("/hello")), yield);
            check_hello({}, r);
            error_code ec;
            auto failed = async_fetch(eng, request("http://127.0.0.1:1/"), yield[ec]);
            BOOST_TEST(ec == make_error_code(CURLE_COULDNT_CONNECT));
            BOOST_TEST(failed.status == 0);
            ++done;
        },
        [](std::exception_ptr e) {
            if (e)
                std::rethrow_exception(e);
        });
    io.run();
    BOOST_TEST(done == 1);
}

BOOST_AUTO_TEST_CASE(handler_runs_on_its_associated_executor_never_inline) {
    tracking_executor tracker{io};
    int calls = 0;
    // Also a failure detected before anything is sent goes through the executor.
    for (std::string url : {server.url("/hello"), std::string("bad\nurl")}) {
        tracking_executor::initiate([&] {
            async_fetch(eng, request(url), asio::bind_executor(tracker, [&](error_code, response) {
                            BOOST_TEST(!tracking_executor::inside_initiating_call());
                            BOOST_TEST(tracking_executor::running_inside());
                            ++calls;
                        }));
        });
    }
    io.run();
    BOOST_TEST(calls == 2);
    BOOST_TEST(tracker.submitted() >= 2);
}

BOOST_AUTO_TEST_CASE(handler_on_another_io_context_keeps_it_busy) {
    asio::io_context other;
    std::thread::id ran_on;
    async_fetch(eng, request(server.url("/hello")),
                asio::bind_executor(other, [&](error_code ec, response r) {
                    check_hello(ec, r);
                    ran_on = std::this_thread::get_id();
                }));
    // The operation holds work on `other`: its run() waits for the handler.
    std::thread::id other_thread;
    std::thread t([&] {
        other_thread = std::this_thread::get_id();
        other.run();
    });
    io.run();
    t.join();
    BOOST_TEST((ran_on == other_thread));
}

BOOST_AUTO_TEST_CASE(operation_state_uses_the_handler_allocator) {
    counting_allocator<void> alloc;
    int calls = 0;
    async_fetch(eng, request(server.url("/hello")),
                asio::bind_allocator(alloc, [&](error_code ec, response r) {
                    check_hello(ec, r);
                    BOOST_TEST(alloc.live() == 0); // state freed before the upcall
                    ++calls;
                }));
    BOOST_TEST(alloc.live() >= 1);
    io.run();
    BOOST_TEST(calls == 1);
    BOOST_TEST(alloc.allocations() >= 1);
    BOOST_TEST(alloc.live() == 0);
}

BOOST_AUTO_TEST_SUITE_END()
