#ifndef CURLASIO_TEST_TOOLKIT_ENGINE_FIXTURE_HPP
#define CURLASIO_TEST_TOOLKIT_ENGINE_FIXTURE_HPP

// The integration tests' common fixture: an in-process server, the
// io_context the test drives, and (engine_fixture) one engine on it.
// Members are destroyed engine first, then io, then the server.

#include "probe.hpp"
#include "run.hpp"

#include <support/test_server.hpp>

#include <curlasio/curlasio.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

namespace curlasio::test {

// For tests that make their own engines.
struct server_fixture {
    test_server server;
    boost::asio::io_context io;

    // After a fault, a cancellation or a destroyed sibling the engine must
    // still serve new transfers.
    void expect_fetch_works(engine& e) {
        probe p;
        async_fetch(e, request(server.url("/hello")), probe_handler(p));
        BOOST_TEST_REQUIRE(run_until(io, [&] { return p.calls > 0; }));
        BOOST_TEST(p.calls == 1);
        BOOST_TEST(!p.ec);
        BOOST_TEST(p.res.status == 200);
        BOOST_TEST(p.res.body == "hello world");
    }
};

struct engine_fixture : server_fixture {
    engine eng{io};

    using server_fixture::expect_fetch_works;
    void expect_fetch_works() { expect_fetch_works(eng); }
};

} // namespace curlasio::test

#endif
