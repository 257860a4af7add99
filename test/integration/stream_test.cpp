// download_stream: the body read as it arrives, with backpressure. Every
// byte once and in order, with Asio's and Beast's algorithms over it; a
// slow reader holds memory flat; a stopped reader pauses the transfer; reads
// and opens cancelled, the stream closed or destroyed, the engine destroyed,
// each mid-body, end it cleanly; HTTP/2 streams against nghttpd.

#include "peer_process.hpp"

#include <toolkit/toolkit.hpp>

#include <support/test_pki.hpp>
#include <support/test_server.hpp>

#include <curlasio/download_stream.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <unistd.h>

namespace asio = boost::asio;
using namespace curlasio;
using namespace curlasio::test;
using namespace std::chrono_literals;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kib = 1024, mib = 1024 * 1024;

// Runs `co` on `io` to its end (bounded), rethrowing what it threw.
template <typename Coroutine>
void run_coroutine(asio::io_context& io, Coroutine co, std::chrono::seconds limit = 120s) {
    bool done = false;
    std::exception_ptr failure;
    asio::co_spawn(io, std::move(co), [&](std::exception_ptr e) {
        failure = e;
        done = true;
    });
    BOOST_TEST_REQUIRE(run_until(
        io, [&] { return done; }, limit));
    if (failure)
        std::rethrow_exception(failure);
}

// Polls `done` every 5 ms while the io_context runs the rest.
template <typename Pred>
asio::awaitable<void> until(Pred done) {
    while (!done()) {
        asio::steady_timer t(co_await asio::this_coro::executor, 5ms);
        co_await t.async_wait(asio::use_awaitable);
    }
}

struct read_totals {
    std::uint64_t bytes = 0;
    std::uint64_t hash = fnv1a_offset;
    error_code end;
};

// Reads the stream to its end into a 64 KiB buffer; calls `between` after each read.
template <typename Between>
asio::awaitable<read_totals> read_all(download_stream& s, Between between) {
    read_totals t;
    std::vector<char> buf(64 * kib);
    for (;;) {
        auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), nothrow);
        t.bytes += n;
        t.hash = fnv1a(t.hash, std::string_view(buf.data(), n));
        if (ec) {
            t.end = ec;
            co_return t;
        }
        co_await between(t);
    }
}

auto no_pause = [](const read_totals&) -> asio::awaitable<void> { co_return; };

using fixture = engine_fixture;

} // namespace

BOOST_FIXTURE_TEST_SUITE(download_streams, fixture)

BOOST_AUTO_TEST_CASE(open_gives_the_head_then_reads_give_every_byte_then_eof) {
    run_coroutine(io, [&]() -> asio::awaitable<void> {
        download_stream s(eng);
        auto [ec, head] = co_await s.async_open(request(server.url("/bytes/1048576")), nothrow);
        BOOST_TEST_REQUIRE(!ec);
        BOOST_TEST(head.status == 200);
        BOOST_TEST(head.headers.find("content-length").value_or("") == "1048576");
        BOOST_TEST(head.body.empty());
        std::string body;
        auto [rec, n] = co_await asio::async_read(s, asio::dynamic_buffer(body), nothrow);
        BOOST_TEST(rec == asio::error::eof);
        BOOST_TEST(n == 1048576u);
        BOOST_TEST(body == pattern(1048576));
        BOOST_TEST(s.result().status == 200);
        BOOST_TEST(s.result().bytes_received == 1048576u);
    });
}

BOOST_AUTO_TEST_CASE(progress_of_a_stream_runs_on_the_open_handlers_executor) {
    // As for async_fetch: an open handler of another io_context gets the
    // progress calls there, at most once per interval, the last the total.
    asio::io_context other;
    download_stream s(eng);
    int calls = 0, off_executor = 0;
    std::uint64_t last = 0;
    request req(server.url("/slow-body/6/50"));
    req.options.progress_interval = 120ms;
    req.on_progress = [&](const transfer_progress& p) {
        ++calls;
        off_executor += other.get_executor().running_in_this_thread() ? 0 : 1;
        last = p.downloaded;
    };
    auto pump = [&] {
        io.restart();
        io.run_for(5ms);
        other.restart();
        other.poll();
    };
    bool opened = false, read_done = false;
    error_code oec, rec;
    s.async_open(std::move(req), asio::bind_executor(other, [&](error_code ec, response) {
                     oec = ec;
                     opened = true;
                 }));
    for (int i = 0; i < 2000 && !opened; ++i)
        pump();
    BOOST_TEST_REQUIRE(opened);
    BOOST_TEST_REQUIRE(!oec);
    std::string body;
    asio::async_read(s, asio::dynamic_buffer(body), [&](error_code ec, std::size_t) {
        rec = ec;
        read_done = true;
    });
    for (int i = 0; i < 2000 && !read_done; ++i)
        pump();
    for (int i = 0; i < 20 && last < 6 * kib; ++i)
        pump(); // the final counts, posted to `other`
    BOOST_TEST(rec == asio::error::eof);
    BOOST_TEST(body == std::string(6 * kib, 'x'));
    BOOST_TEST(calls >= 1);
    BOOST_TEST(calls < 6);
    BOOST_TEST(off_executor == 0);
    BOOST_TEST(last == 6 * kib);
}

BOOST_AUTO_TEST_CASE(streamed_downloads_leave_their_connection_reusable) {
    // A stream pauses and resumes its transfer, so libcurl lets go of the
    // socket and takes it back many times, the last time with the body's
    // last bytes read: the readiness left over from those must not be taken
    // for stray bytes on an idle connection (which would close it).
    run_coroutine(io, [&]() -> asio::awaitable<void> {
        for (int i = 0; i < 8; ++i) {
            download_stream s(eng);
            auto [ec, head] = co_await s.async_open(request(server.url("/bytes/4194304")), nothrow);
            BOOST_TEST_REQUIRE(!ec);
            auto t = co_await read_all(s, no_pause);
            BOOST_TEST(t.end == asio::error::eof);
            BOOST_TEST(t.bytes == 4194304u);
            auto [fec, r] = co_await async_fetch(eng, request(server.url("/hello")), nothrow);
            BOOST_TEST(!fec, r.error_message);
        }
    });
    BOOST_TEST(server.connections_accepted() == 1u);
    BOOST_TEST(eng.stats().stray_data_connections == 0u);
}

BOOST_AUTO_TEST_CASE(async_read_until_works_over_the_stream) {
    run_coroutine(io, [&]() -> asio::awaitable<void> {
        download_stream s(eng);
        auto [ec, head] = co_await s.async_open(request(server.url("/bytes/100")), nothrow);
        BOOST_TEST_REQUIRE(!ec);
        std::string data;
        auto [rec, n] = co_await asio::async_read_until(s, asio::dynamic_buffer(data), 'z', nothrow);
        BOOST_TEST(!rec);
        BOOST_TEST(n == 26u);
        BOOST_TEST(data.substr(0, n) == pattern(26));
    });
}

BOOST_AUTO_TEST_CASE(open_completes_before_the_body_and_follows_redirects) {
    run_coroutine(io, [&]() -> asio::awaitable<void> {
        download_stream s(eng);
        // The server sleeps before each chunk: the head comes first.
        auto [ec, head] = co_await s.async_open(request(server.url("/slow-body/3/300")), nothrow);
        BOOST_TEST_REQUIRE(!ec);
        BOOST_TEST(head.status == 200);
        BOOST_TEST(s.held() == 0u);
        auto t = co_await read_all(s, no_pause);
        BOOST_TEST(t.end == asio::error::eof);
        BOOST_TEST(t.bytes == 3 * kib);

        request r(server.url("/redirect/2"));
        r.options.redirects.follow = true;
        auto [rec, rhead] = co_await s.async_open(r, nothrow); // reopened after its end
        BOOST_TEST_REQUIRE(!rec);
        BOOST_TEST(rhead.status == 200);
        BOOST_TEST(rhead.effective_url.ends_with("/redirect/0"));
        std::string body;
        co_await asio::async_read(s, asio::dynamic_buffer(body), nothrow);
        BOOST_TEST(body == "redirected");
    });
}

BOOST_AUTO_TEST_CASE(an_error_status_opens_and_a_failure_fails_the_open) {
    run_coroutine(io, [&]() -> asio::awaitable<void> {
        download_stream s(eng);
        auto [ec, head] = co_await s.async_open(request(server.url("/status/404")), nothrow);
        BOOST_TEST(!ec);
        BOOST_TEST(head.status == 404);
        std::string body;
        co_await asio::async_read(s, asio::dynamic_buffer(body), nothrow);
        BOOST_TEST(body == "status 404");

        auto [fec, fhead] = co_await s.async_open(request("http://127.0.0.1:1/"), nothrow);
        BOOST_TEST(fec == make_error_code(CURLE_COULDNT_CONNECT));
        BOOST_TEST(!fhead.error_message.empty());
        auto [rec, n] = co_await s.async_read_some(asio::buffer(body), nothrow);
        BOOST_TEST(rec == make_error_code(CURLE_COULDNT_CONNECT));
        BOOST_TEST(n == 0u);
    });
}

// Issue 23 (5): the head handed Content-Length: 5 beside a chunked body of
// 100 bytes; a proxy copying it desynchronised its client.
BOOST_AUTO_TEST_CASE(a_length_beside_transfer_encoding_is_not_in_the_head) {
    run_coroutine(io, [&]() -> asio::awaitable<void> {
        const std::string raw =
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n64\r\n" +
            pattern(100) + "\r\n0\r\n\r\n";
        download_stream s(eng);
        auto [ec, head] = co_await s.async_open(request(server.url("/raw?bytes=" + encode(raw))), nothrow);
        BOOST_TEST_REQUIRE(!ec, ec.message());
        BOOST_TEST(!head.headers.contains("content-length"));
        BOOST_TEST(head.headers.find("transfer-encoding").value_or("") == "chunked");
        std::string body;
        auto [rec, n] = co_await asio::async_read(s, asio::dynamic_buffer(body), nothrow);
        BOOST_TEST(rec == asio::error::eof);
        BOOST_TEST(body == pattern(100));
        BOOST_TEST(!s.result().headers.contains("content-length"));
    });
}

// Issue 23 (6): what a proxy gets when its client's body breaks: the
// source's own error and its text, not libcurl's "aborted by callback".
BOOST_AUTO_TEST_CASE(an_upload_source_failure_fails_the_open_with_its_error) {
    run_coroutine(io, [&]() -> asio::awaitable<void> {
        request req(server.url("/sink"), verb::post);
        req.upload = upload_source::from_function(
            io.get_executor(),
            [&](asio::mutable_buffer, asio::any_completion_handler<void(error_code, std::size_t)> done) {
                asio::post(io, [d = std::move(done)]() mutable {
                    std::move(d)(make_error_code(boost::system::errc::bad_message), 0);
                });
            });
        download_stream s(eng);
        auto [ec, head] = co_await s.async_open(std::move(req), nothrow);
        BOOST_TEST(ec == boost::system::errc::bad_message, ec.message());
        BOOST_TEST(head.error_message == ec.message());
    });
}

BOOST_AUTO_TEST_CASE(a_failure_mid_body_comes_after_the_bytes_before_it) {
    run_coroutine(io, [&]() -> asio::awaitable<void> {
        download_stream s(eng);
        auto [ec, head] = co_await s.async_open(request(server.url("/reset-body/50000")), nothrow);
        BOOST_TEST_REQUIRE(!ec);
        auto t = co_await read_all(s, no_pause);
        BOOST_TEST(t.bytes == 50000u);
        BOOST_TEST(t.hash == pattern_hash(50000));
        BOOST_TEST(t.end != asio::error::eof);
        BOOST_TEST((t.end.category() == curl_easy_category()), t.end.message());
    });
}

BOOST_AUTO_TEST_CASE(a_download_paused_when_its_peer_resets_gets_the_bytes_then_the_error) {
    // 16 KiB held at most: the transfer is paused long before the 50 000
    // bytes, and the peer resets while it is. The reader, back after the
    // reset, gets every byte in order and then the failure, with no hang.
    run_coroutine(io, [&]() -> asio::awaitable<void> {
        download_stream s(eng, 16 * kib);
        auto [ec, head] = co_await s.async_open(request(server.url("/reset-body/50000")), nothrow);
        BOOST_TEST_REQUIRE(!ec);
        asio::steady_timer timer(io, 500ms);
        co_await timer.async_wait(asio::use_awaitable);
        BOOST_TEST(s.pauses() >= 1u);
        auto t = co_await read_all(s, no_pause);
        BOOST_TEST(t.bytes == 50000u);
        BOOST_TEST(t.hash == pattern_hash(50000));
        BOOST_TEST(t.end != asio::error::eof);
        BOOST_TEST((t.end.category() == curl_easy_category()), t.end.message());
    });
    expect_fetch_works();
}

BOOST_AUTO_TEST_CASE(zero_size_reads_second_reads_and_unopened_streams) {
    run_coroutine(io, [&]() -> asio::awaitable<void> {
        download_stream s(eng);
        char c;
        auto [nec, nn] = co_await s.async_read_some(asio::buffer(&c, 1), nothrow);
        BOOST_TEST(nec == make_error_code(errc::stream_not_open));
        auto [ec, head] = co_await s.async_open(request(server.url("/slow-body/2/200")), nothrow);
        BOOST_TEST_REQUIRE(!ec);
        auto [zec, zn] = co_await s.async_read_some(asio::mutable_buffer(), nothrow);
        BOOST_TEST(!zec);
        BOOST_TEST(zn == 0u);
        auto [oec, ohead] = co_await s.async_open(request(server.url("/hello")), nothrow);
        BOOST_TEST(oec == make_error_code(errc::operation_in_progress));
        // Two reads at once: the second is refused, the first goes on.
        std::vector<char> a(4 * kib), b(4 * kib);
        std::optional<std::tuple<error_code, std::size_t>> first;
        s.async_read_some(asio::buffer(a), [&](error_code e, std::size_t n) { first.emplace(e, n); });
        auto [sec, sn] = co_await s.async_read_some(asio::buffer(b), nothrow);
        BOOST_TEST(sec == make_error_code(errc::operation_in_progress));
        co_await until([&] { return first.has_value(); });
        BOOST_TEST(!std::get<0>(*first));
        BOOST_TEST(std::get<1>(*first) == kib);
    });
    download_stream moved(eng);
    download_stream other(std::move(moved));
    bool called = false;
    moved.async_read_some(asio::mutable_buffer(), [&](error_code ec, std::size_t) {
        BOOST_TEST(ec == make_error_code(errc::stream_not_open));
        called = true;
    });
    BOOST_TEST(run_until(io, [&] { return called; }));
}

BOOST_AUTO_TEST_CASE(a_slow_reader_of_a_large_body_keeps_memory_flat) {
    // 1 GiB read in 64 KiB pieces with a pause every 16 reads; under a
    // sanitizer a quarter of it, and RSS (quarantine, shadow memory) is not
    // asserted.
    const std::uint64_t size = sanitized ? 256 * mib : 1024 * mib;
    rss_peak rss;
    run_coroutine(io, [&]() -> asio::awaitable<void> {
        download_stream s(eng);
        auto [ec, head] =
            co_await s.async_open(request(server.url("/bytes/" + std::to_string(size))), nothrow);
        BOOST_TEST_REQUIRE(!ec);
        std::size_t most_held = 0;
        std::uint64_t reads = 0;
        auto t = co_await read_all(s, [&](const read_totals&) -> asio::awaitable<void> {
            most_held = std::max(most_held, s.held());
            if (++reads % 16 == 0) {
                rss.sample();
                asio::steady_timer timer(io, 2ms);
                co_await timer.async_wait(asio::use_awaitable);
            }
        });
        BOOST_TEST(t.end == asio::error::eof);
        BOOST_TEST(t.bytes == size);
        BOOST_TEST(t.hash == pattern_hash(size));
        BOOST_TEST(most_held <= download_stream::default_buffer_limit + 16 * kib);
        BOOST_TEST(s.pauses() > 0u);
        BOOST_TEST_MESSAGE("slow reader of " << size / mib << " MiB: RSS grew by " << rss.growth_mib()
                                             << " MiB, at most " << most_held << " bytes held, " << s.pauses()
                                             << " pauses");
    });
    if (sanitized)
        BOOST_TEST_MESSAGE("RSS bound not asserted under a sanitizer (quarantine and shadow memory)");
    else
        BOOST_TEST(rss.growth_mib() < 16.0); // the 1 GiB body would be 1024
}

BOOST_AUTO_TEST_CASE(a_reader_that_stops_for_seconds_gets_every_byte_in_order) {
    const std::uint64_t size = 8 * mib;
    run_coroutine(io, [&]() -> asio::awaitable<void> {
        download_stream s(eng, 64 * kib);
        auto [ec, head] =
            co_await s.async_open(request(server.url("/bytes/" + std::to_string(size))), nothrow);
        BOOST_TEST_REQUIRE(!ec);
        bool stopped = false;
        auto t = co_await read_all(s, [&](const read_totals& so_far) -> asio::awaitable<void> {
            if (!stopped && so_far.bytes >= mib) {
                stopped = true;
                asio::steady_timer timer(io, 2s);
                co_await timer.async_wait(asio::use_awaitable);
                // Paused all that time: what is held is still bounded.
                BOOST_TEST(s.held() <= 64 * kib + 16 * kib);
                BOOST_TEST(s.pauses() >= 1u);
            }
        });
        BOOST_TEST(t.end == asio::error::eof);
        BOOST_TEST(t.bytes == size);
        BOOST_TEST(t.hash == pattern_hash(size));
    });
    expect_fetch_works();
}

BOOST_AUTO_TEST_CASE(partial_cancellation_cancels_the_read_and_keeps_the_bytes) {
    run_coroutine(io, [&]() -> asio::awaitable<void> {
        download_stream s(eng);
        auto [ec, head] = co_await s.async_open(request(server.url("/slow-body/4/300")), nothrow);
        BOOST_TEST_REQUIRE(!ec);
        asio::cancellation_signal sig;
        std::vector<char> buf(64 * kib);
        std::optional<error_code> got;
        s.async_read_some(asio::buffer(buf), asio::bind_cancellation_slot(
                                                 sig.slot(), [&](error_code e, std::size_t) { got = e; }));
        sig.emit(asio::cancellation_type::partial);
        co_await until([&] { return got.has_value(); });
        BOOST_TEST(*got == asio::error::operation_aborted);
        auto t = co_await read_all(s, no_pause); // the transfer went on
        BOOST_TEST(t.end == asio::error::eof);
        BOOST_TEST(t.bytes == 4 * kib);
    });
    expect_fetch_works();
}

BOOST_AUTO_TEST_CASE(terminal_cancellation_of_a_read_ends_the_transfer) {
    run_coroutine(io, [&]() -> asio::awaitable<void> {
        download_stream s(eng);
        // 10 bytes, then nothing: the next read waits.
        auto [ec, head] = co_await s.async_open(request(server.url("/stall")), nothrow);
        BOOST_TEST_REQUIRE(!ec);
        std::vector<char> buf(64 * kib);
        auto [rec, n] = co_await asio::async_read(s, asio::buffer(buf, 10), nothrow);
        BOOST_TEST_REQUIRE(!rec);
        asio::cancellation_signal sig;
        int calls = 0;
        error_code got;
        s.async_read_some(asio::buffer(buf),
                          asio::bind_cancellation_slot(sig.slot(), [&](error_code e, std::size_t) {
                              got = e;
                              ++calls;
                          }));
        sig.emit(asio::cancellation_type::terminal);
        co_await until([&] { return calls > 0; });
        BOOST_TEST(calls == 1);
        BOOST_TEST(got == asio::error::operation_aborted);
        auto [lec, ln] = co_await s.async_read_some(asio::buffer(buf), nothrow);
        BOOST_TEST(lec == asio::error::operation_aborted); // the transfer is gone
        BOOST_TEST(s.result().error_message == "operation aborted");
    });
    BOOST_TEST(eventually([&] { return connections_to(server.port()) == 0; }));
    expect_fetch_works();
}

BOOST_AUTO_TEST_CASE(cancelling_the_open_aborts_the_transfer) {
    run_coroutine(io, [&]() -> asio::awaitable<void> {
        download_stream s(eng);
        asio::cancellation_signal sig;
        int calls = 0;
        error_code got;
        s.async_open(request(server.url(std::string(never_answered))),
                     asio::bind_cancellation_slot(sig.slot(), [&](error_code e, response) {
                         got = e;
                         ++calls;
                     }));
        asio::steady_timer t(io, 100ms);
        co_await t.async_wait(asio::use_awaitable);
        sig.emit(asio::cancellation_type::terminal);
        co_await until([&] { return calls > 0; });
        BOOST_TEST(calls == 1);
        BOOST_TEST(got == asio::error::operation_aborted);
    });
    BOOST_TEST(eventually([&] { return connections_to(server.port()) == 0; }));
}

BOOST_AUTO_TEST_CASE(closing_or_destroying_the_stream_mid_body_ends_the_transfer) {
    expect_fetch_works(); // the engine's own descriptors exist before the baseline
    const std::size_t fds = open_fd_count();
    for (const bool destroy : {false, true}) {
        int calls = 0;
        error_code got;
        std::vector<char> buf(64 * kib);
        {
            download_stream s(eng);
            bool ready = false;
            s.async_open(request(server.url("/stall")), [&](error_code ec, response) {
                BOOST_TEST(!ec);
                asio::async_read(s, asio::buffer(buf, 10), [&](error_code rec, std::size_t) {
                    BOOST_TEST(!rec);
                    ready = true;
                });
            });
            BOOST_TEST_REQUIRE(run_until(io, [&] { return ready; }));
            s.async_read_some(asio::buffer(buf), [&](error_code e, std::size_t) {
                got = e;
                ++calls;
            });
            if (!destroy) {
                s.close();
                bool later = false;
                s.async_read_some(asio::buffer(buf), [&](error_code e, std::size_t) {
                    BOOST_TEST(e == asio::error::operation_aborted);
                    later = true;
                });
                BOOST_TEST(run_until(io, [&] { return later; }));
            }
        } // destroyed
        BOOST_TEST(run_until(io, [&] { return calls > 0; }));
        BOOST_TEST(calls == 1);
        BOOST_TEST(got == asio::error::operation_aborted);
        BOOST_TEST(eventually([&] { return connections_to(server.port()) == 0; }));
    }
    BOOST_TEST(eventually([&] { return open_fd_count() <= fds; }));
    expect_fetch_works();
}

BOOST_AUTO_TEST_CASE(destroying_the_engine_mid_body_completes_the_pending_read) {
    std::optional<engine> e(std::in_place, io);
    download_stream s(*e);
    bool opened = false;
    s.async_open(request(server.url("/stall")), [&](error_code ec, response) {
        BOOST_TEST(!ec);
        opened = true;
    });
    BOOST_TEST_REQUIRE(run_until(io, [&] { return opened; }));
    std::vector<char> buf(8 * mib); // more than is held: the read drains it (10 bytes)
    int calls = 0;
    error_code got;
    s.async_read_some(asio::buffer(buf), [&](error_code, std::size_t) {
        s.async_read_some(asio::buffer(buf), [&](error_code ec, std::size_t) {
            got = ec;
            ++calls;
        });
        e.reset(); // inside a completion: the engine goes, the read is pending
    });
    BOOST_TEST(run_until(io, [&] { return calls > 0; }));
    BOOST_TEST(calls == 1);
    BOOST_TEST(got == asio::error::operation_aborted);
    BOOST_TEST(eventually([&] { return connections_to(server.port()) == 0; }));
}

BOOST_AUTO_TEST_SUITE_END()

// ---- HTTP/2 (nghttpd) ------------------------------------------------------------

namespace {

struct h2_fixture {
    pki certs = make_test_pki();
    asio::io_context io;
    engine eng{io};
    static constexpr std::size_t big = 16 * mib;

    h2_fixture() { std::ofstream(certs.dir + "/big") << pattern(big); }
    peer_process nghttpd() const {
        return peer_process("/usr/sbin/nghttpd", [&](unsigned short port) {
            return std::vector<std::string>{
                "-a", "127.0.0.1", "-d", certs.dir, std::to_string(port), certs.key_file, certs.cert_file};
        });
    }
    request h2(const peer_process& p, const std::string& path) const {
        request req("https://127.0.0.1:" + std::to_string(p.port()) + path);
        req.options.version = http_version::http2_tls;
        req.options.tls.ca_file = certs.ca_file;
        req.options.connection.wait_for_multiplex = true;
        return req;
    }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(download_streams_http2, h2_fixture)

BOOST_AUTO_TEST_CASE(a_slow_http2_reader_gets_every_byte_and_a_cancelled_stream_spares_its_sibling) {
    peer_process server = nghttpd();
    CURLASIO_REQUIRE_PEER(server, "nghttp2-server");
    run_coroutine(io, [&]() -> asio::awaitable<void> {
        download_stream slow(eng), doomed(eng);
        auto [ec1, h1] = co_await slow.async_open(h2(server, "/big"), nothrow);
        BOOST_TEST_REQUIRE(!ec1);
        BOOST_TEST(h1.version == 20u);
        auto [ec2, h2head] = co_await doomed.async_open(h2(server, "/big"), nothrow);
        BOOST_TEST_REQUIRE(!ec2);
        std::vector<char> buf(16 * kib);
        co_await doomed.async_read_some(asio::buffer(buf), asio::use_awaitable);
        // Close the second stream mid-body; the first goes on over the same
        // connection.
        doomed.close();
        std::uint64_t reads = 0;
        auto t = co_await read_all(slow, [&](const read_totals&) -> asio::awaitable<void> {
            if (++reads % 32 == 0) {
                asio::steady_timer timer(io, 2ms);
                co_await timer.async_wait(asio::use_awaitable);
            }
        });
        BOOST_TEST(t.end == asio::error::eof);
        BOOST_TEST(t.bytes == big);
        BOOST_TEST(t.hash == pattern_hash(big));
        BOOST_TEST(slow.result().remote_port == server.port());
        auto d = co_await read_all(doomed, no_pause);
        BOOST_TEST(d.end == asio::error::operation_aborted);
        BOOST_TEST_MESSAGE("HTTP/2 slow reader: " << slow.pauses() << " pauses");
    });
}

BOOST_AUTO_TEST_CASE(a_slow_http2_reader_of_a_large_body_keeps_memory_flat) {
    // A paused HTTP/2 stream: libcurl 7.88 closes its flow-control window
    // (its stream window is 32 MiB otherwise), so what it keeps for a
    // reader that stops is bounded by what was in flight, not by the body.
    // The body: a sparse file of zeros served by nghttpd.
    const std::uint64_t size = sanitized ? 64 * mib : 512 * mib;
    { std::ofstream(certs.dir + "/zeros"); }
    BOOST_TEST_REQUIRE(::truncate((certs.dir + "/zeros").c_str(), static_cast<off_t>(size)) == 0);
    std::uint64_t zeros_hash = fnv1a_offset;
    {
        const std::string block(mib, '\0');
        for (std::uint64_t at = 0; at < size; at += mib)
            zeros_hash = fnv1a(zeros_hash, block);
    }
    peer_process server = nghttpd();
    CURLASIO_REQUIRE_PEER(server, "nghttp2-server");
    rss_peak rss;
    run_coroutine(
        io,
        [&]() -> asio::awaitable<void> {
            download_stream s(eng);
            auto [ec, head] = co_await s.async_open(h2(server, "/zeros"), nothrow);
            BOOST_TEST_REQUIRE(!ec);
            BOOST_TEST(head.version == 20u);
            std::uint64_t reads = 0;
            bool stopped = false;
            auto t = co_await read_all(s, [&](const read_totals& sofar) -> asio::awaitable<void> {
                auto pause = 0ms;
                if (++reads % 16 == 0)
                    pause = 2ms;
                if (!stopped && sofar.bytes > size / 2) {
                    stopped = true; // a reader that stops for two seconds
                    pause = 2000ms;
                }
                if (pause > 0ms) {
                    rss.sample();
                    asio::steady_timer timer(io, pause);
                    co_await timer.async_wait(asio::use_awaitable);
                    rss.sample();
                }
            });
            BOOST_TEST(t.end == asio::error::eof);
            BOOST_TEST(t.bytes == size);
            BOOST_TEST(t.hash == zeros_hash);
            BOOST_TEST(s.pauses() > 0u);
            BOOST_TEST_MESSAGE("HTTP/2 slow reader of " << size / mib << " MiB: RSS grew by "
                                                        << rss.growth_mib() << " MiB, " << s.pauses()
                                                        << " pauses");
        },
        300s);
    ::unlink((certs.dir + "/zeros").c_str());
    if (sanitized)
        BOOST_TEST_MESSAGE("RSS bound not asserted under a sanitizer (quarantine and shadow memory)");
    else
        BOOST_TEST(rss.growth_mib() < 48.0); // the body would be 512
}

BOOST_AUTO_TEST_SUITE_END()
