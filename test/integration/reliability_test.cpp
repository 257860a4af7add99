// Regression tests for the defects of the second reliability round: the
// engine destroyed from inside its own callbacks or while nothing runs it, a
// moved-from engine, `total` cancellation after the request went out, the
// watchdog and fast uploads, and bytes a server sends on an idle connection.

#include <toolkit/toolkit.hpp>
#include "internals.hpp"

#include <support/test_server.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using namespace curlasio;
using namespace std::chrono_literals;
using curlasio::test::eventually;
using curlasio::test::open_fd_count;
using curlasio::test::probe;
using curlasio::test::probe_handler;
using curlasio::test::run_until;

namespace {

// A scripted HTTP/1.1 peer on 127.0.0.1: for each connection, reads request
// heads and answers each with the script's bytes for that request number
// (counted over all connections), then writes `after` bytes `delay` later.
// Blocking sockets on one thread: enough for one client at a time.
class scripted_peer {
public:
    struct answer {
        std::string bytes;
        std::string after; // written `delay` after the answer, unasked for
        std::chrono::milliseconds delay{100};
    };

    explicit scripted_peer(std::vector<answer> script)
        : script_(std::move(script)), acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
        thread_ = std::thread([this] { serve(); });
    }
    ~scripted_peer() {
        stop_ = true;
        error_code ignored;
        // Wakes the blocking accept.
        asio::ip::tcp::socket poke(io_);
        poke.connect(acceptor_.local_endpoint(), ignored);
        thread_.join();
    }

    std::string url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + path;
    }
    int connections() const { return connections_.load(); }
    int requests() const { return requests_.load(); }

private:
    void serve() {
        std::vector<asio::ip::tcp::socket> open; // kept open until the end
        std::vector<std::thread> sessions;
        while (!stop_) {
            asio::ip::tcp::socket s(io_);
            error_code ec;
            acceptor_.accept(s, ec);
            if (ec || stop_)
                break;
            ++connections_;
            sessions.emplace_back([this, s = std::move(s)]() mutable { session(s); });
        }
        for (auto& t : sessions)
            t.join();
    }

    void session(asio::ip::tcp::socket& s) {
        asio::streambuf buf;
        for (;;) {
            error_code ec;
            const std::size_t n = asio::read_until(s, buf, "\r\n\r\n", ec);
            if (ec || stop_)
                return;
            buf.consume(n); // the requests carry no body
            const std::size_t i = static_cast<std::size_t>(requests_++);
            const answer& a = script_.at(std::min(i, script_.size() - 1));
            asio::write(s, asio::buffer(a.bytes), ec);
            if (!a.after.empty()) {
                std::this_thread::sleep_for(a.delay);
                asio::write(s, asio::buffer(a.after), ec);
            }
            if (ec)
                return;
        }
    }

    std::vector<answer> script_;
    asio::io_context io_;
    asio::ip::tcp::acceptor acceptor_;
    std::atomic<bool> stop_{false};
    std::atomic<int> connections_{0}, requests_{0};
    std::thread thread_;
};

const std::string forged = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged";
const std::string real_answer = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nreal";

struct fixture : curlasio::test::server_fixture {

    std::size_t baseline_fds() {
        { asio::steady_timer make_reactor(io); }
        {
            engine warm_up(io);
            BOOST_TEST_REQUIRE(!curlasio::test::fetch_sync(io, warm_up, request(server.url("/hello"))).ec);
        }
        io.restart();
        io.poll();
        BOOST_TEST_REQUIRE(eventually([&] { return server.open_connections() == 0; }));
        return open_fd_count();
    }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(reliability, fixture)

// ---- defect 1: the engine destroyed inside its own callbacks --------------------------------

// Destroys (or move-assigns over) the engine from inside one of its callbacks
// during a 64 MiB download; the fetch ends once, aborted, and nothing is left.
void destroy_from_inside(fixture& f, const std::function<void(request&, std::function<void()>)>& hook,
                         bool move_assign) {
    const std::size_t baseline = f.baseline_fds();
    std::optional<engine> eng(std::in_place, f.io);
    probe p;
    int fired = 0;
    request req(f.server.url("/bytes/67108864"));
    hook(req, [&] {
        if (fired++)
            return;
        if (move_assign)
            *eng = engine(f.io);
        else
            eng.reset();
    });
    async_fetch(*eng, std::move(req), probe_handler(p));
    BOOST_TEST_REQUIRE(run_until(
        f.io, [&] { return p.calls > 0; }, 30s));
    f.io.restart();
    f.io.run_for(100ms);
    BOOST_TEST(fired >= 1);
    BOOST_TEST(p.calls == 1);
    BOOST_TEST(p.ec == asio::error::operation_aborted);
    BOOST_TEST(p.res.body.size() < 64u * 1024 * 1024);
    eng.reset();
    f.io.restart();
    f.io.poll();
    BOOST_TEST(eventually([&] { return open_fd_count() <= baseline; }),
               "fds " << open_fd_count() << " baseline " << baseline);
}

BOOST_AUTO_TEST_CASE(engine_destroyed_inside_on_body) {
    destroy_from_inside(
        *this,
        [](request& r, std::function<void()> kill) { r.on_body = [kill](std::string_view) { kill(); }; },
        false);
}

BOOST_AUTO_TEST_CASE(engine_move_assigned_inside_on_body) {
    destroy_from_inside(
        *this,
        [](request& r, std::function<void()> kill) { r.on_body = [kill](std::string_view) { kill(); }; },
        true);
}

BOOST_AUTO_TEST_CASE(engine_destroyed_inside_on_progress) {
    destroy_from_inside(
        *this,
        [](request& r, std::function<void()> kill) {
            // Every change reported: with the default 100 ms interval a
            // quick loopback download can end before the second call, and
            // the engine would then die in the final report, after success.
            r.options.progress_interval = std::chrono::milliseconds(0);
            r.on_progress = [kill](const transfer_progress& pr) {
                if (pr.downloaded > 0)
                    kill();
            };
        },
        false);
}

BOOST_AUTO_TEST_CASE(engine_destroyed_inside_open_socket) {
    const std::size_t baseline = baseline_fds();
    std::optional<engine> eng;
    engine_options opts;
    opts.open_socket = [&](curlsocktype, const curl_sockaddr& a) -> curl_socket_t {
        eng.reset();
        return ::socket(a.family, a.socktype | SOCK_CLOEXEC, a.protocol);
    };
    eng.emplace(io, opts);
    probe p;
    async_fetch(*eng, request(server.url("/hello")), probe_handler(p));
    BOOST_TEST_REQUIRE(run_until(
        io, [&] { return p.calls > 0; }, 30s));
    io.restart();
    io.run_for(100ms);
    BOOST_TEST(p.calls == 1);
    BOOST_TEST(p.ec == asio::error::operation_aborted);
    BOOST_TEST(!eng);
    BOOST_TEST(eventually([&] { return open_fd_count() <= baseline; }),
               "fds " << open_fd_count() << " baseline " << baseline);
}

BOOST_AUTO_TEST_CASE(callbacks_may_cancel_and_start_fetches) {
    engine eng(io);
    probe first, second;
    bool started = false;
    request req(server.url("/bytes/16777216"));
    req.on_body = [&](std::string_view) {
        if (started)
            return;
        started = true;
        async_fetch(eng, request(server.url("/hello")), probe_handler(second));
        eng.cancel(); // aborts the first; the second is still being posted
    };
    async_fetch(eng, std::move(req), probe_handler(first));
    BOOST_TEST_REQUIRE(run_until(
        io, [&] { return first.calls > 0 && second.calls > 0; }, 30s));
    BOOST_TEST(first.ec == asio::error::operation_aborted);
    // The cancel was posted after the start: the new fetch was already running.
    BOOST_TEST(second.calls == 1);
}

// ---- defect 2: destruction closes the connections at once ----------------------------------

BOOST_AUTO_TEST_CASE(destroying_the_engine_closes_its_connections_at_once) {
    const std::size_t baseline = baseline_fds();
    std::optional<engine> eng(std::in_place, io);
    // 100 kept-alive connections in libcurl's cache, 20 transfers in flight.
    std::vector<probe> done(100), pending(20);
    for (probe& p : done)
        async_fetch(*eng, request(server.url("/delay/50")), probe_handler(p));
    BOOST_TEST_REQUIRE(run_until(
        io,
        [&] {
            for (const probe& p : done)
                if (!p.calls)
                    return false;
            return true;
        },
        30s));
    const std::size_t seen = server.requests_seen();
    for (probe& p : pending) // /stall reads on: the server closes its end as soon as ours goes
        async_fetch(*eng, request(server.url("/stall")), probe_handler(p));
    BOOST_TEST_REQUIRE(run_until(
        io, [&] { return server.requests_seen() >= seen + 20; }, 30s));
    const std::size_t before = curlasio::test::connections_to(server.port());
    BOOST_TEST(before >= 20u);

    // The usual order: nothing runs the io_context any more, then the engine
    // goes, and with it every connection (counted on our side: the server
    // closes its ends when it notices).
    eng.reset();
    BOOST_TEST(curlasio::test::connections_to(server.port()) == 0u, "before: " << before);
    for (const probe& p : pending)
        BOOST_TEST_REQUIRE(p.calls == 0); // never inside the destructor
    io.restart();
    io.run_for(5s);
    BOOST_TEST(io.stopped());
    for (const probe& p : pending) {
        BOOST_TEST(p.calls == 1);
        BOOST_TEST(p.ec == asio::error::operation_aborted);
    }
    BOOST_TEST(eventually([&] { return open_fd_count() <= baseline; }, 15s),
               "fds " << open_fd_count() << " baseline " << baseline);
}

// ---- defect 8: a moved-from engine ---------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_moved_from_engine_is_safe_to_use) {
    engine a(io);
    engine b(std::move(a));
    BOOST_TEST(!detail::engine_access::impl(a));
    BOOST_TEST(a.stats().stalls_kicked == 0u);
    BOOST_TEST(a.stats().busy_sockets_suspended == 0u);
    BOOST_TEST((a.get_executor() == b.get_executor()));
    a.cancel();

    probe p;
    async_fetch(a, request(server.url("/hello")), probe_handler(p));
    BOOST_TEST(p.calls == 0); // never inline
    BOOST_TEST_REQUIRE(run_until(
        io, [&] { return p.calls > 0; }, 10s));
    BOOST_TEST(p.ec == make_error_code(errc::engine_moved_from));
    BOOST_TEST(p.res.error_message == "the engine was moved from");
    BOOST_TEST(server.requests_seen() == 0u);

    // Assigning to it makes it a working engine again.
    a = engine(io);
    BOOST_TEST(!curlasio::test::fetch_sync(io, a, request(server.url("/hello"))).ec);
    BOOST_TEST(!curlasio::test::fetch_sync(io, b, request(server.url("/hello"))).ec);
}

// ---- defect 9: total cancellation only before libcurl runs the transfer ---------------------

BOOST_AUTO_TEST_CASE(total_cancellation_is_ignored_once_the_request_went_out) {
    engine eng(io);
    probe p;
    asio::cancellation_signal signal;
    async_fetch(eng, request(server.url("/delay/300")),
                asio::bind_cancellation_slot(signal.slot(), probe_handler(p)));
    BOOST_TEST_REQUIRE(run_until(
        io, [&] { return server.requests_seen() == 1; }, 10s));
    signal.emit(asio::cancellation_type::total);
    BOOST_TEST_REQUIRE(run_until(
        io, [&] { return p.calls > 0; }, 10s));
    BOOST_TEST(!p.ec); // the server has it: no cancellation without side effects
    BOOST_TEST(p.res.body == "delayed");

    // Before the engine ran it, total still aborts, and the server never sees it.
    probe q;
    asio::cancellation_signal early;
    async_fetch(eng, request(server.url("/delay/300")),
                asio::bind_cancellation_slot(early.slot(), probe_handler(q)));
    early.emit(asio::cancellation_type::total);
    BOOST_TEST_REQUIRE(run_until(
        io, [&] { return q.calls > 0; }, 10s));
    BOOST_TEST(q.ec == asio::error::operation_aborted);
    io.restart();
    io.run_for(100ms);
    BOOST_TEST(server.requests_seen() == 1u);

    // terminal | total (what a parallel group emits) is terminal: honoured.
    probe r;
    asio::cancellation_signal both;
    async_fetch(eng, request(server.url("/delay/5000")),
                asio::bind_cancellation_slot(both.slot(), probe_handler(r)));
    BOOST_TEST_REQUIRE(run_until(
        io, [&] { return server.requests_seen() == 2; }, 10s));
    both.emit(asio::cancellation_type::terminal | asio::cancellation_type::total);
    BOOST_TEST_REQUIRE(run_until(
        io, [&] { return r.calls > 0; }, 10s));
    BOOST_TEST(r.ec == asio::error::operation_aborted);
}

// ---- defect 3: the watchdog and fast uploads -----------------------------------------------

BOOST_AUTO_TEST_CASE(watchdog_leaves_a_fast_upload_alone) {
    engine_options opts;
    opts.busy_wakeup_limit = 20; // an upload wakes on writes alone, far more often
    engine eng(io, opts);
    request req(server.url("/hello"), verb::post);
    req.body.assign(256u << 20, 'u');
    req.add_header("Content-Type", "application/octet-stream");
    const auto t0 = std::chrono::steady_clock::now();
    auto out = curlasio::test::fetch_sync(io, eng, std::move(req));
    BOOST_TEST_MESSAGE("256 MiB POST in " << curlasio::test::ms_between(t0, std::chrono::steady_clock::now())
                                          << " ms");
    BOOST_TEST(!out.ec);
    BOOST_TEST(out.res.status == 200);
    BOOST_TEST(eng.stats().busy_sockets_suspended == 0u);
}

BOOST_AUTO_TEST_CASE(watchdog_still_suspends_a_write_side_spin) {
    engine_options opts;
    opts.watchdog_interval = 100ms;
    opts.busy_wakeup_limit = 1000;
    engine watched(io, opts);
    int pipe_fds[2];
    BOOST_TEST_REQUIRE(::pipe(pipe_fds) == 0); // the write end is writable for ever
    probe p;
    async_fetch(watched, request(server.url("/delay/600")), probe_handler(p));
    asio::post(io, [&] { curlasio::test::internals(watched).debug_watch(pipe_fds[1], CURL_POLL_OUT); });
    BOOST_TEST(run_until(
        io, [&] { return p.calls == 1; }, 10s));
    asio::post(io, [&] { curlasio::test::internals(watched).debug_watch(pipe_fds[1], CURL_POLL_REMOVE); });
    io.restart();
    io.poll();
    BOOST_TEST(!p.ec);
    BOOST_TEST(watched.stats().busy_sockets_suspended >= 2u);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
}

// ---- defect 4: bytes sent on an idle connection are never a response -----------------------

// Two fetches to one scripted peer whose first answer is followed, 100 ms
// later, by `stray`. The second must get the real answer on a new connection.
void stray_bytes_case(fixture& f, const std::string& first_answer, int first_status, const std::string& stray,
                      bool keep_engine_busy) {
    scripted_peer peer({{first_answer, stray}, {real_answer, {}}});
    engine eng(f.io);
    // A long transfer elsewhere keeps the engine busy: the idle connection
    // is then watched all along, not only looked at before the next start.
    // 8 s outlasts the case's waits (300 ms, at most 5 s for the stray bytes,
    // two fetches); the server holds its end for all of it, and the
    // fixture's teardown waits for that.
    probe busy;
    asio::cancellation_signal stop_busy;
    if (keep_engine_busy)
        async_fetch(eng, request(f.server.url("/delay/8000")),
                    asio::bind_cancellation_slot(stop_busy.slot(), probe_handler(busy)));

    auto first = curlasio::test::fetch_sync(f.io, eng, request(peer.url("/first")));
    BOOST_TEST(!first.ec);
    BOOST_TEST(first.res.status == first_status);
    std::this_thread::sleep_for(300ms); // the stray bytes are sent meanwhile
    if (keep_engine_busy) {
        BOOST_TEST(run_until(
            f.io, [&] { return eng.stats().stray_data_connections == 1; }, 5s));
    }
    auto second = curlasio::test::fetch_sync(f.io, eng, request(peer.url("/second")));
    BOOST_TEST(!second.ec);
    BOOST_TEST(second.res.status == 200);
    BOOST_TEST(second.res.body == "real");
    BOOST_TEST(peer.connections() == 2);
    BOOST_TEST(peer.requests() == 2);
    BOOST_TEST(eng.stats().stray_data_connections == 1u);
    if (keep_engine_busy) {
        stop_busy.emit(asio::cancellation_type::terminal);
        BOOST_TEST(run_until(
            f.io, [&] { return busy.calls == 1; }, 10s));
    }
}

BOOST_AUTO_TEST_CASE(stray_bytes_after_a_204_while_idle) {
    stray_bytes_case(*this, "HTTP/1.1 204 No Content\r\n\r\n", 204, forged, false);
}

BOOST_AUTO_TEST_CASE(stray_bytes_after_a_204_while_busy) {
    stray_bytes_case(*this, "HTTP/1.1 204 No Content\r\n\r\n", 204, forged, true);
}

BOOST_AUTO_TEST_CASE(stray_bytes_after_a_short_content_length) {
    // The body announced is 5 bytes; what follows is not part of it.
    stray_bytes_case(*this, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 200, "garbage" + forged,
                     false);
    stray_bytes_case(*this, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 200, "garbage" + forged,
                     true);
}

BOOST_AUTO_TEST_CASE(quiet_idle_connections_are_still_reused) {
    scripted_peer peer({{real_answer, {}}});
    engine eng(io);
    for (int i = 0; i < 5; ++i) {
        auto out = curlasio::test::fetch_sync(io, eng, request(peer.url("/again")));
        BOOST_TEST(!out.ec);
        BOOST_TEST(out.res.body == "real");
        std::this_thread::sleep_for(50ms);
    }
    BOOST_TEST(peer.connections() == 1);
    BOOST_TEST(eng.stats().stray_data_connections == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
