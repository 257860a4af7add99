// The body sink seam and the engine's resume entry point, as a stream will
// use them: a sink that pauses, a resume posted later, every byte once and
// in order; a paused transfer cancelled; the watchdog leaves paused ones be.

#include "internals.hpp"

#include <toolkit/toolkit.hpp>

#include <support/test_server.hpp>

#include <curlasio/detail/fetch_op.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace asio = boost::asio;
using namespace curlasio;
using namespace std::chrono_literals;
using curlasio::test::probe;
using curlasio::test::probe_handler;
using curlasio::test::run_until;

namespace {

// Takes `run` chunks, then pauses (once per pause: the chunk comes again).
struct pausing_sink final : detail::body_sink {
    std::string got;
    int run = 5;
    int taken_since_pause = 0;
    int pauses = 0;
    std::function<void()> on_pause;

    detail::sink_result consume(std::string_view chunk) override {
        if (taken_since_pause == run) {
            taken_since_pause = 0;
            ++pauses;
            on_pause();
            return {detail::sink_status::pause, {}};
        }
        ++taken_since_pause;
        got.append(chunk);
        return {};
    }
};

// What async_fetch does, with a sink of the test's: returns the transfer id.
std::uint64_t fetch_into(engine& eng, request req, detail::body_sink& sink, probe& p) {
    auto& impl = curlasio::test::internals(eng);
    using op_type = detail::fetch_op<probe_handler>;
    op_type* op = op_type::create(probe_handler(p), impl, eng.get_executor());
    const std::uint64_t id = op->id;
    detail::submit(impl, detail::transfer_ptr(op), std::move(req), &sink);
    return id;
}

using fixture = curlasio::test::server_fixture;

} // namespace

BOOST_FIXTURE_TEST_SUITE(body_sink, fixture)

BOOST_AUTO_TEST_CASE(a_paused_body_resumes_with_every_byte_once_and_in_order) {
    engine_options opts;
    opts.watchdog_interval = 50ms; // ticks many times while a pause lasts
    engine eng(io, opts);
    pausing_sink sink;
    probe p;
    asio::steady_timer later(io);
    std::uint64_t id = 0;
    sink.on_pause = [&] {
        // Resumed from outside libcurl, a while later (longer than a tick).
        later.expires_after(sink.pauses == 1 ? 300ms : 5ms);
        later.async_wait([&](error_code) { detail::resume_async(curlasio::test::internals(eng), id); });
    };
    request req(server.url("/bytes/2097152"));
    req.options.connection.buffer_size = 16384; // many chunks, many pauses
    id = fetch_into(eng, std::move(req), sink, p);
    BOOST_TEST_REQUIRE(run_until(
        io, [&] { return p.calls > 0; }, 60s));
    BOOST_TEST(!p.ec, p.ec.message() << ": " << p.res.error_message);
    BOOST_TEST(p.res.status == 200);
    BOOST_TEST(p.res.body.empty()); // the sink took it
    BOOST_TEST(sink.pauses >= 3);
    BOOST_TEST(sink.got.size() == 2097152u);
    BOOST_TEST((sink.got == curlasio::test::pattern(2097152)));
    BOOST_TEST(p.res.bytes_received == 2097152u);
    BOOST_TEST(eng.stats().stalls_kicked == 0u); // paused is not stalled
}

BOOST_AUTO_TEST_CASE(a_paused_transfer_is_cancelled_cleanly) {
    engine eng(io);
    pausing_sink sink;
    sink.run = 2;
    probe p;
    bool paused = false;
    sink.on_pause = [&] { paused = true; }; // never resumed
    fetch_into(eng, request(server.url("/bytes/8388608")), sink, p);
    BOOST_TEST_REQUIRE(run_until(
        io, [&] { return paused; }, 30s));
    eng.cancel();
    BOOST_TEST_REQUIRE(run_until(
        io, [&] { return p.calls > 0; }, 30s));
    BOOST_TEST(p.ec == asio::error::operation_aborted);
    BOOST_TEST(curlasio::test::connections_to(server.port()) == 0u);
    // A resume for a transfer that is gone is harmless.
    BOOST_TEST(!curlasio::test::fetch_sync(io, eng, request(server.url("/hello"))).ec);
}

BOOST_AUTO_TEST_CASE(a_failing_sink_ends_the_transfer_with_its_error) {
    struct failing_sink final : detail::body_sink {
        detail::sink_result consume(std::string_view) override {
            return {detail::sink_status::fail, make_error_code(errc::out_of_resources)};
        }
    } sink;
    engine eng(io);
    probe p;
    fetch_into(eng, request(server.url("/bytes/65536")), sink, p);
    BOOST_TEST_REQUIRE(run_until(
        io, [&] { return p.calls > 0; }, 30s));
    BOOST_TEST(p.ec == make_error_code(errc::out_of_resources));
}

BOOST_AUTO_TEST_SUITE_END()
