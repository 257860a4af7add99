// upload_source: a request body sent as it is produced. From a pipe fed
// slowly (chunked, memory flat), with a known size (Content-Length), from a
// file, from a function that fails mid-body; cancelled mid-upload; a source
// used twice; a redirect that would need the body again.

#include <toolkit/toolkit.hpp>

#include <support/test_server.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <fstream>
#include <optional>
#include <string>

#include <fcntl.h>
#include <unistd.h>

namespace asio = boost::asio;
using namespace curlasio;
using namespace curlasio::test;
using namespace std::chrono_literals;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kib = 1024, mib = 1024 * 1024;
using descriptor = asio::posix::stream_descriptor;

struct pipe_ends {
    descriptor read_end, write_end;
    explicit pipe_ends(asio::io_context& io) : read_end(io), write_end(io) {
        int fds[2];
        BOOST_TEST_REQUIRE(::pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0);
        read_end.assign(fds[0]);
        write_end.assign(fds[1]);
    }
};

// Writes `size` pattern bytes in 64 KiB blocks, pausing 2 ms every
// `pause_every` blocks, then closes the pipe (unless told to leave it open:
// the reader then waits for more).
asio::awaitable<void> write_pattern(descriptor& out, std::uint64_t size, int pause_every, bool close = true) {
    static const std::string block = pattern(26 * 2600); // 64 KiB and one more period
    std::uint64_t sent = 0;
    int blocks = 0;
    while (sent < size) {
        const std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(64 * kib, size - sent));
        // Every block starts at a multiple of 26 so the pattern continues.
        auto [ec, n] = co_await asio::async_write(out, asio::buffer(block.data() + sent % 26, len), nothrow);
        if (ec)
            co_return;
        sent += n;
        if (pause_every && ++blocks % pause_every == 0) {
            asio::steady_timer t(out.get_executor(), 2ms);
            co_await t.async_wait(nothrow);
        }
    }
    if (close)
        out.close();
}

request put_to_sink(const test_server& server, upload_source source) {
    request req(server.url("/sink"), verb::put);
    req.upload = std::move(source);
    return req;
}

using fixture = engine_fixture;

} // namespace

BOOST_FIXTURE_TEST_SUITE(upload_sources, fixture)

BOOST_AUTO_TEST_CASE(a_large_body_from_a_slow_pipe_goes_chunked_with_memory_flat) {
    const std::uint64_t size = sanitized ? 256 * mib : 1024 * mib;
    pipe_ends p(io);
    asio::co_spawn(io, write_pattern(p.write_end, size, 16), asio::detached);
    rss_peak rss;
    asio::steady_timer sampler(io);
    std::function<void()> sample = [&] {
        rss.sample();
        sampler.expires_after(20ms);
        sampler.async_wait([&](error_code ec) {
            if (!ec)
                sample();
        });
    };
    sample();
    probe pr;
    async_fetch(eng, put_to_sink(server, upload_source::from_stream(p.read_end)), probe_handler(pr));
    BOOST_TEST_REQUIRE(run_until(
        io, [&] { return pr.calls > 0; }, 300s));
    sampler.cancel();
    BOOST_TEST(!pr.ec, pr.ec.message() << ": " << pr.res.error_message);
    BOOST_TEST(pr.res.status == 200);
    BOOST_TEST(pr.res.body == sink_answer(size, "chunked"));
    BOOST_TEST_MESSAGE("upload of " << size / mib << " MiB from a slow pipe: RSS grew by " << rss.growth_mib()
                                    << " MiB");
    if (sanitized)
        BOOST_TEST_MESSAGE("RSS bound not asserted under a sanitizer (quarantine and shadow memory)");
    else
        BOOST_TEST(rss.growth_mib() < 16.0);
}

BOOST_AUTO_TEST_CASE(a_known_size_goes_as_content_length) {
    const std::uint64_t size = 3 * mib + 7;
    pipe_ends p(io);
    asio::co_spawn(io, write_pattern(p.write_end, size, 0), asio::detached);
    probe pr;
    async_fetch(eng, put_to_sink(server, upload_source::from_stream(std::move(p.read_end), size)),
                probe_handler(pr));
    BOOST_TEST_REQUIRE(run_until(
        io, [&] { return pr.calls > 0; }, 60s));
    BOOST_TEST(!pr.ec, pr.res.error_message);
    BOOST_TEST(pr.res.body == sink_answer(size, "length"));
}

BOOST_AUTO_TEST_CASE(a_file_goes_with_its_size_and_post_is_kept) {
    const std::uint64_t size = 64 * mib;
    char path[] = "/tmp/curlasio-upload-XXXXXX";
    const int fd = ::mkstemp(path);
    BOOST_TEST_REQUIRE(fd >= 0);
    ::close(fd);
    {
        std::ofstream f(path, std::ios::binary);
        const std::string block = pattern(26 * 4096);
        for (std::uint64_t at = 0; at < size; at += block.size())
            f.write(block.data(),
                    static_cast<std::streamsize>(std::min<std::uint64_t>(block.size(), size - at)));
    }
    request req(server.url("/sink"), verb::post);
    req.upload = upload_source::from_file(path);
    const outcome out = fetch_sync(io, eng, std::move(req));
    ::unlink(path);
    BOOST_TEST(!out.ec, out.res.error_message);
    BOOST_TEST(out.res.body == sink_answer(size, "length"));

    error_code ec;
    BOOST_TEST(!upload_source::from_file("/nonexistent/file", ec));
    BOOST_TEST(ec == boost::system::errc::no_such_file_or_directory);
    BOOST_CHECK_THROW(upload_source::from_file("/nonexistent/file"), boost::system::system_error);
}

BOOST_AUTO_TEST_CASE(a_source_that_fails_mid_body_fails_the_fetch_with_its_error) {
    int calls = 0;
    auto source = upload_source::from_function(
        io.get_executor(),
        [&](asio::mutable_buffer into, asio::any_completion_handler<void(error_code, std::size_t)> done) {
            // Ten reads of data, then a failure of the source's own.
            if (++calls > 10)
                return asio::post(io, [d = std::move(done)]() mutable {
                    std::move(d)(make_error_code(boost::system::errc::io_error), 0);
                });
            std::memset(into.data(), 'x', into.size());
            asio::post(io,
                       [d = std::move(done), n = into.size()]() mutable { std::move(d)(error_code(), n); });
        });
    const outcome out = fetch_sync(io, eng, put_to_sink(server, source));
    BOOST_TEST(out.ec == boost::system::errc::io_error, out.ec.message());
    // Issue 23 (6): the text was libcurl's "operation aborted by callback".
    BOOST_TEST(out.res.error_message == out.ec.message());
    BOOST_TEST(calls == 11);
    expect_fetch_works();
}

BOOST_AUTO_TEST_CASE(a_function_source_may_complete_before_it_returns) {
    // `done` called inside f: the source still sees the bytes after f
    // returned (the completion is posted), and libcurl is resumed.
    constexpr std::size_t size = 3 * mib + 5;
    const std::string data = pattern(size);
    std::size_t at = 0;
    int calls = 0;
    auto source = upload_source::from_function(
        io.get_executor(),
        [&](asio::mutable_buffer into, asio::any_completion_handler<void(error_code, std::size_t)> done) {
            ++calls;
            const std::size_t n = std::min(into.size(), size - at);
            std::memcpy(into.data(), data.data() + at, n);
            at += n;
            std::move(done)(n ? error_code() : asio::error::eof, n);
        },
        size);
    request req = put_to_sink(server, source);
    req.options.timeout = 60s; // a lost resume fails here instead of hanging
    const outcome out = fetch_sync(io, eng, std::move(req));
    BOOST_TEST(!out.ec, out.res.error_message);
    BOOST_TEST(out.res.body == sink_answer(size, "length"));
    BOOST_TEST(calls >= 48);
}

BOOST_AUTO_TEST_CASE(cancelling_mid_upload_ends_the_fetch_and_the_read) {
    expect_fetch_works(); // the engine's own descriptors exist before the baseline
    const std::size_t fds = open_fd_count();
    {
        pipe_ends p(io);
        // 1 MiB, then the writer stops: the upload waits on the pipe.
        asio::co_spawn(io, write_pattern(p.write_end, mib, 0, false), asio::detached);
        asio::cancellation_signal sig;
        probe pr;
        async_fetch(eng, put_to_sink(server, upload_source::from_stream(p.read_end)),
                    asio::bind_cancellation_slot(sig.slot(), probe_handler(pr)));
        asio::steady_timer t(io, 300ms);
        t.async_wait([&](error_code ec) {
            if (!ec)
                sig.emit(asio::cancellation_type::terminal);
        });
        BOOST_TEST_REQUIRE(run_until(io, [&] { return pr.calls > 0; }));
        BOOST_TEST(pr.calls == 1);
        BOOST_TEST(pr.ec == asio::error::operation_aborted);
        // The source's read was cancelled: nothing holds the pipe.
        io.restart();
        io.poll();
    }
    BOOST_TEST(eventually([&] { return connections_to(server.port()) == 0; }));
    BOOST_TEST(eventually([&] { return open_fd_count() <= fds; }));
    expect_fetch_works();
}

BOOST_AUTO_TEST_CASE(a_source_feeds_one_transfer) {
    pipe_ends p(io);
    auto source = upload_source::from_stream(p.read_end);
    probe first, second;
    async_fetch(eng, put_to_sink(server, source), probe_handler(first));
    async_fetch(eng, put_to_sink(server, source), probe_handler(second));
    BOOST_TEST_REQUIRE(run_until(io, [&] { return second.calls > 0; }));
    BOOST_TEST(second.ec == make_error_code(errc::upload_in_use));
    BOOST_TEST(first.calls == 0);
    asio::co_spawn(io, write_pattern(p.write_end, 1000, 0), asio::detached);
    BOOST_TEST_REQUIRE(run_until(io, [&] { return first.calls > 0; }));
    BOOST_TEST(!first.ec, first.res.error_message);
    BOOST_TEST(first.res.body == sink_answer(1000, "chunked"));
}

BOOST_AUTO_TEST_CASE(a_redirect_that_needs_the_body_again_fails_as_libcurl_says) {
    pipe_ends p(io);
    asio::co_spawn(io, write_pattern(p.write_end, 1000, 0), asio::detached);
    request req(server.url("/redirect-to?url=" + encode("/sink")), verb::put);
    req.upload = upload_source::from_stream(p.read_end, 1000);
    req.options.redirects.follow = true;
    const outcome out = fetch_sync(io, eng, std::move(req));
    BOOST_TEST(out.ec == make_error_code(CURLE_SEND_FAIL_REWIND), out.ec.message());
    expect_fetch_works();
}

BOOST_AUTO_TEST_CASE(destroying_the_engine_mid_upload_completes_the_fetch_once) {
    std::optional<engine> e(std::in_place, io);
    pipe_ends p(io);
    asio::co_spawn(io, write_pattern(p.write_end, mib, 0, false), asio::detached);
    probe pr;
    async_fetch(*e, put_to_sink(server, upload_source::from_stream(p.read_end)), probe_handler(pr));
    asio::steady_timer t(io, 300ms);
    t.async_wait([&](error_code ec) {
        if (!ec)
            e.reset();
    });
    BOOST_TEST_REQUIRE(run_until(io, [&] { return pr.calls > 0; }));
    BOOST_TEST(pr.calls == 1);
    BOOST_TEST(pr.ec == asio::error::operation_aborted);
    BOOST_TEST(eventually([&] { return connections_to(server.port()) == 0; }));
}

BOOST_AUTO_TEST_SUITE_END()
